"""The public specialist profile (minimal until the full profile issue)."""

import pytest

from tests.factories import AffiliationFactory, ConditionFactory, SpecialistFactory

pytestmark = pytest.mark.django_db


def test_published_profile_shows_name_focus_languages_and_location(client):
    affiliation = AffiliationFactory(
        specialist__honorific_prefix="Prof. Dr. med.",
        specialist__given_name="Lena",
        specialist__family_name="Aurich",
        specialist__languages=["de", "fr"],
        location__city="Erfurt",
    )
    specialist = affiliation.specialist
    specialist.conditions.add(
        ConditionFactory(name_en="Liver metastases", name_de="Lebermetastasen")
    )

    english = client.get(f"/en/specialists/{specialist.slug}/")
    german = client.get(f"/de/specialists/{specialist.slug}/")

    assert english.status_code == 200
    assert "<h1>Prof. Dr. med. Lena Aurich</h1>" in english.text
    assert "Liver metastases" in english.text
    assert "German, French" in english.text
    assert "Erfurt" in english.text
    assert "Lebermetastasen" in german.text
    assert "Deutsch, Französisch" in german.text


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_unpublished_profiles_are_not_found(client, status):
    specialist = SpecialistFactory(status=status)

    assert client.get(f"/en/specialists/{specialist.slug}/").status_code == 404


def test_staff_may_preview_a_draft_but_outsiders_may_not(client, editor, outsider):
    specialist = SpecialistFactory(status="draft")
    url = f"/en/specialists/{specialist.slug}/"

    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(editor)
    response = client.get(url)
    assert response.status_code == 200
    assert "Preview: this listing is a draft" in response.text


def test_profile_query_count_does_not_grow_with_its_content(client, django_assert_max_num_queries):
    """Guards against n+1 queries: many conditions and places of work, a fixed query count."""
    specialist = SpecialistFactory()
    for _ in range(5):
        specialist.conditions.add(ConditionFactory())
        AffiliationFactory(specialist=specialist, is_primary=False)

    with django_assert_max_num_queries(4):
        client.get(f"/en/specialists/{specialist.slug}/")


def test_a_cached_profile_changes_as_soon_as_the_listing_does(client):
    affiliation = AffiliationFactory(specialist__headline="Consultant")
    specialist, clinic = affiliation.specialist, affiliation.clinic
    url = specialist.get_absolute_url()
    assert "Consultant" in client.get(url).content.decode()
    specialist.headline = "Head of department"
    specialist.save()
    assert "Head of department" in client.get(url).content.decode()
    clinic.name = "Klinikum Neuer Name"
    clinic.save()
    assert "Klinikum Neuer Name" in client.get(url).content.decode()
    specialist.status = "archived"
    specialist.save()
    assert client.get(url).status_code == 404
