import io

import pytest
from django.core.management import call_command

from directory.models import Affiliation, Specialist
from tests.factories import AffiliationFactory, SpecialistFactory

pytestmark = pytest.mark.django_db


def snapshot() -> list[tuple]:
    return list(
        Specialist.objects.filter(slug__startswith="seed-")
        .order_by("slug")
        .values_list("slug", "status", "languages", "insurance", "affiliations__location__city")
    )


def test_seed_demo_is_deterministic_and_replaces_its_earlier_run():
    call_command("seed_demo", "--specialists", "60", "--seed", "7", stdout=io.StringIO())
    first = snapshot()

    call_command("seed_demo", "--specialists", "60", "--seed", "7", stdout=io.StringIO())

    assert len(first) == 60
    assert snapshot() == first
    assert Affiliation.objects.filter(specialist__slug__startswith="seed-").count() == 60


def test_seed_demo_leaves_hand_made_listings_alone():
    """Listings an editor made (no `seed-` slug) survive both a seed and the removal of the
    seeded ones, with their practice."""
    made = AffiliationFactory(specialist__slug="lena-aurich", location__city="Erfurt").specialist
    made_elsewhere = SpecialistFactory(slug="seedling-not-seeded")  # only the prefix "seed-" counts

    call_command("seed_demo", "--specialists", "20", "--seed", "1", stdout=io.StringIO())
    assert Specialist.objects.filter(slug__startswith="seed-").count() == 20
    # The seeder loads the demo listings when the taxonomy is missing: hand-made ones too.
    hand_made = set(
        Specialist.objects.exclude(slug__startswith="seed-").values_list("slug", flat=True)
    )
    assert {made.slug, made_elsewhere.slug} <= hand_made

    call_command("seed_demo", "--specialists", "0", stdout=io.StringIO())

    assert not Specialist.objects.filter(slug__startswith="seed-").exists()
    assert set(Specialist.objects.values_list("slug", flat=True)) == hand_made
    assert list(made.affiliations.values_list("location__city", flat=True)) == ["Erfurt"]


def test_seed_demo_gives_a_share_of_the_specialists_free_times_on_their_search_rows():
    from django.utils import timezone

    from directory.models import Slot, SlotSource, SpecialistSearch

    call_command("seed_demo", "--specialists", "400", "--seed", "3", stdout=io.StringIO())
    rows = SpecialistSearch.objects.filter(specialist__slug__startswith="seed-")
    with_times = rows.filter(next_free__gt=timezone.now()).count()
    assert 0 < with_times < rows.count() / 2
    seeded = SlotSource.objects.filter(clinic__slug__startswith="seed-")
    assert seeded.exists()
    assert not seeded.filter(active=True).exists()  # nothing is ever fetched
    assert Slot.objects.filter(source__clinic__slug__startswith="seed-").count() > 6 * 20

    call_command("seed_demo", "--specialists", "0", stdout=io.StringIO())
    assert not Slot.objects.filter(clinic__slug__startswith="seed-").exists()
    assert not SlotSource.objects.filter(clinic__slug__startswith="seed-").exists()
