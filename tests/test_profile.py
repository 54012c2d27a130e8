"""The public specialist profile."""

import pytest

from tests.factories import (
    AffiliationFactory,
    ConditionFactory,
    SpecialistFactory,
    SpecialtyFactory,
)

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
    """Guards against n+1 queries: many conditions and places of work, a fixed query count
    (the listing, its fields, its focus, its places of work, their closures, their
    accessibility and the free times)."""
    specialist = SpecialistFactory()
    for _ in range(5):
        specialist.conditions.add(ConditionFactory())
        AffiliationFactory(specialist=specialist, is_primary=False)

    with django_assert_max_num_queries(7):
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


def test_full_profile_shows_everything_a_patient_needs(client):
    affiliation = AffiliationFactory(
        role_title="Head of the Department of Visceral Surgery",
        location__street="Nordhäuser Straße 74",
        location__postcode="99089",
        location__city="Erfurt",
        location__phone="+49 361 555 0100",
        location__opening_hours_en="Mon–Fri 8:00–16:00\nSat closed",
        location__opening_hours_de="Mo–Fr 8:00–16:00\nSa geschlossen",
        specialist__memberships="German Society of Surgery",
        specialist__certifications="Board certification in visceral surgery",
        specialist__insurance=["statutory"],
        specialist__accepts_new_patients=False,
        specialist__last_verified="2026-03-01",
    )
    specialist, clinic = affiliation.specialist, affiliation.clinic
    specialist.specialties.add(SpecialtyFactory(name_en="Visceral surgery", slug="visceral"))
    condition = ConditionFactory(name_en="Liver metastases", slug="liver-metastases")
    specialist.conditions.add(condition)

    text = client.get(f"/en/specialists/{specialist.slug}/").text

    assert '<a href="/en/specialties/visceral/">Visceral surgery</a>' in text
    assert '<a href="/en/conditions/liver-metastases/">Liver metastases</a>' in text
    assert f'<a href="/en/clinics/{clinic.slug}/">{clinic.name}</a>' in text
    assert "Head of the Department of Visceral Surgery" in text
    assert "Nordhäuser Straße 74" in text
    assert "99089 Erfurt" in text
    assert 'href="tel:+493615550100"' in text
    assert "<li>Mon–Fri 8:00–16:00</li><li>Sat closed</li>" in text
    assert "https://www.openstreetmap.org/?mlat=50.97800&amp;mlon=11.02900" in text
    assert "<iframe" not in text  # a link out, no embedded map
    assert "German Society of Surgery" in text
    assert "Board certification in visceral surgery" in text
    assert "Statutory health insurance" in text
    assert "Private" not in text
    assert "Not accepting new patients at the moment" in text
    assert '<time datetime="2026-03-01">' in text
    assert f'href="/en/specialists/{specialist.slug}/request/"' in text
    assert "Sa geschlossen" in client.get(f"/de/specialists/{specialist.slug}/").text


def test_profile_title_says_what_and_where(client):
    affiliation = AffiliationFactory(
        specialist__honorific_prefix="Prof. Dr. med.",
        specialist__given_name="Lena",
        specialist__family_name="Aurich",
        location__city="Erfurt",
    )
    affiliation.specialist.specialties.add(SpecialtyFactory(name_en="Visceral surgery"))

    text = client.get(f"/en/specialists/{affiliation.specialist.slug}/").text

    assert "<title>Prof. Dr. med. Lena Aurich – Visceral surgery, Erfurt – " in text


def test_a_draft_preview_offers_no_request_link(client, editor):
    specialist = SpecialistFactory(status="draft")
    client.force_login(editor)

    text = client.get(f"/en/specialists/{specialist.slug}/").text

    assert "/request/" not in text


def test_a_card_leads_to_the_profile_with_the_way_back_to_its_list(client):
    """The profile's breadcrumbs lead back to the search the visitor came from, filters kept."""
    from urllib.parse import unquote

    specialist = AffiliationFactory(location__city="Erfurt").specialist
    search = client.get("/en/specialists/", {"q": specialist.family_name, "language": "de"})
    link = f'href="/en/specialists/{specialist.slug}/?back='
    assert link in search.text
    href = search.text.split(link, 1)[1].split('"', 1)[0].replace("&amp;", "&")
    back = unquote(href)
    assert back.startswith("/en/specialists/?")

    profile = client.get(f"/en/specialists/{specialist.slug}/", {"back": back})
    assert "Search results" in profile.text
    assert back.replace("&", "&amp;") in profile.text


@pytest.mark.parametrize(
    "back",
    [
        "https://elsewhere.example/en/specialists/",
        "//elsewhere.example/en/specialists/",
        "/en/specialists/\n",
        "/en/specialists/?q=a\r\nSet-Cookie: x=1",
        "/en/specialists/?q=a\x00",
        "/en/accounts/login/",
        "/en/specialists/\\\\elsewhere.example",
        "javascript:alert(1)",
    ],
)
def test_the_way_back_never_leads_off_the_site_lists(client, back):
    specialist = SpecialistFactory()
    profile = client.get(f"/en/specialists/{specialist.slug}/", {"back": back})
    assert profile.status_code == 200
    assert "Search results" not in profile.text
    breadcrumbs = profile.text.split('class="breadcrumbs"', 1)[1].split("</nav>", 1)[0]
    assert "elsewhere" not in breadcrumbs
    assert 'href="/en/specialists/"' in breadcrumbs  # the plain search instead
