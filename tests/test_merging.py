"""Taxonomy an import created for a misspelt name is merged into the entry it meant, in one
click: its names become synonyms (the search still finds them), its specialists move over, and
nothing that named it is lost."""

import pytest

from directory import merging
from directory.models import Condition, Specialty
from tests.factories import ConditionFactory, EditorFactory, SpecialistFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def meant():
    return ConditionFactory(
        slug="liver-metastases",
        name_en="Liver metastases",
        name_de="Lebermetastasen",
        synonyms_en="secondary liver cancer",
    )


@pytest.fixture
def misspelt():
    return ConditionFactory(
        slug="liver-metastasis",
        name_en="liver-metastasis",
        name_de="liver-metastasis",
        needs_review=True,
    )


def test_the_list_offers_the_nearest_entry_and_one_click_merges(client, meant, misspelt):
    both = SpecialistFactory()
    both.conditions.add(meant, misspelt)
    only = SpecialistFactory()
    only.conditions.add(misspelt)
    client.force_login(EditorFactory())

    listing = client.get("/admin/directory/condition/?needs_review__exact=1").content.decode()
    url = f"/admin/directory/condition/{misspelt.pk}/merge/{meant.pk}/"
    assert f'formaction="{url}"' in listing
    assert "Merge into “Liver metastases”" in listing

    response = client.post(url)

    assert response.status_code == 302
    assert not Condition.objects.filter(pk=misspelt.pk).exists()
    meant.refresh_from_db()
    assert meant.synonyms_en.splitlines() == ["secondary liver cancer", "liver-metastasis"]
    assert list(only.conditions.all()) == [meant]
    assert list(both.conditions.all()) == [meant]  # once
    # The search finds them by the merged name.
    search = client.get("/en/specialists/?q=liver-metastasis").content.decode()
    assert only.get_absolute_url() in search


def test_a_request_about_the_misspelt_condition_keeps_its_condition(meant, misspelt):
    from django.utils import timezone

    from appointments.models import AppointmentRequest

    request = AppointmentRequest.objects.create(
        specialist=SpecialistFactory(),
        condition=misspelt,
        name="Maria Muster",
        email="maria@example.org",
        message="Please.",
        preferred_language="de",
        site_language="en",
        consent_at=timezone.now(),
    )

    merging.merge(misspelt, meant)

    request.refresh_from_db()
    assert request.condition == meant


def test_a_field_merges_with_its_sub_fields_and_specialists():
    cardiology = SpecialtyFactory(name_en="Cardiology", name_de="Kardiologie", slug="cardiology")
    typo = SpecialtyFactory(name_en="Cardiolgy", name_de="Cardiolgy", needs_review=True)
    child = SpecialtyFactory(parent=typo)
    person = SpecialistFactory()
    person.specialties.add(typo)

    assert merging.suggestion(typo) == cardiology
    merging.merge(typo, cardiology)

    child.refresh_from_db()
    assert child.parent == cardiology
    assert list(person.specialties.all()) == [cardiology]
    assert "Cardiolgy" in Specialty.objects.get(pk=cardiology.pk).synonyms_en


def test_what_cannot_be_merged_changes_nothing(client, meant, misspelt):
    from tests.test_content import make_article

    make_article(misspelt)
    client.force_login(EditorFactory())

    response = client.post(f"/admin/directory/condition/{misspelt.pk}/merge/{meant.pk}/")

    assert response.status_code == 302
    assert Condition.objects.filter(pk=misspelt.pk).exists()
    assert (
        client.get(f"/admin/directory/condition/{misspelt.pk}/merge/{meant.pk}/").status_code == 405
    )
    with pytest.raises(merging.MergeError):
        merging.merge(meant, meant)
    assert client.post(f"/admin/directory/condition/{misspelt.pk}/merge/999999/").status_code == 404


def test_only_those_who_may_delete_see_the_merge_button(client, meant, misspelt):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_condition", "change_condition"])
    )
    client.force_login(viewer)

    listing = client.get("/admin/directory/condition/?needs_review__exact=1").content.decode()

    assert "Merge into" not in listing
    assert (
        client.post(f"/admin/directory/condition/{misspelt.pk}/merge/{meant.pk}/").status_code
        == 403
    )


def test_the_suggestions_of_a_list_read_the_known_names_once(client, meant, misspelt):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(EditorFactory())
    url = "/admin/directory/condition/?needs_review__exact=1"
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for number in range(3):
        ConditionFactory(name_en=f"liver metastasis {number}", needs_review=True)
    with CaptureQueriesContext(connection) as four:
        listing = client.get(url).content.decode()

    assert listing.count("Merge into “Liver metastases”") == 4
    assert len(four) == len(one)  # not a query per entry
