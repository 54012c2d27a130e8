import io

import pytest
from django.core.management import call_command

from directory.models import Affiliation, Specialist

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
    call_command("seed_demo", "--specialists", "20", "--seed", "1", stdout=io.StringIO())
    hand_made = Specialist.objects.exclude(slug__startswith="seed-").count()

    call_command("seed_demo", "--specialists", "0", stdout=io.StringIO())

    assert not Specialist.objects.filter(slug__startswith="seed-").exists()
    assert Specialist.objects.exclude(slug__startswith="seed-").count() == hand_made
