"""Clinic profiles and clinic search: the specialist search's conventions."""

import re

import pytest

from tests.factories import AffiliationFactory, ClinicFactory, LocationFactory, SpecialistFactory

pytestmark = pytest.mark.django_db


# --- Profile -------------------------------------------------------------------------------


def test_clinic_profile_shows_what_the_clinic_offers(client):
    hospital = ClinicFactory(name="Klinikum Stadtpark", slug="klinikum-stadtpark")
    clinic = ClinicFactory(
        name="Zentrum für Leberchirurgie",
        slug="leberzentrum",
        kind="centre",
        parent=hospital,
        description_en="A centre for liver surgery.",
        description_de="Ein Zentrum für Leberchirurgie.",
        phone="+49 40 5550",
        website="https://leber.example/",
    )
    clinic.certifications.create(title_en="Certified liver centre", issuer="A cancer society")
    LocationFactory(clinic=clinic, street="Parkallee 1", city="Hamburg", postcode="20144")
    department = ClinicFactory(name="Abteilung Ablation", parent=clinic)
    ClinicFactory(name="Abteilung Entwurf", parent=clinic, status="draft")
    AffiliationFactory(
        location__clinic=clinic, specialist__given_name="Lena", specialist__family_name="Aurich"
    )
    AffiliationFactory(
        location__clinic=clinic, specialist__family_name="Hidden", specialist__status="draft"
    )

    response = client.get("/en/clinics/leberzentrum/")
    text = response.text

    assert response.status_code == 200
    assert "<h1>Zentrum für Leberchirurgie</h1>" in text
    assert "Centre" in text
    assert "part of Klinikum Stadtpark" in text
    assert '<a href="/en/clinics/klinikum-stadtpark/">Klinikum Stadtpark</a>' in text
    assert "A centre for liver surgery." in text
    assert "Parkallee 1" in text
    assert "openstreetmap.org" in text
    assert f'<a href="/en/clinics/{department.slug}/">Abteilung Ablation</a>' in text
    assert "Abteilung Entwurf" not in text
    assert "<strong>Certified liver centre</strong>, A cancer society" in text
    assert "1 specialist at this clinic" in text
    assert "Lena Aurich" in text
    assert "Hidden" not in text
    assert 'href="/en/clinics/leberzentrum/request/"' in text
    assert "Ein Zentrum für Leberchirurgie." in client.get("/de/clinics/leberzentrum/").text


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_unpublished_clinics_are_not_found(client, status):
    clinic = ClinicFactory(status=status)

    assert client.get(f"/en/clinics/{clinic.slug}/").status_code == 404


def test_staff_may_preview_a_draft_clinic(client, editor):
    clinic = ClinicFactory(status="draft")
    client.force_login(editor)

    response = client.get(f"/en/clinics/{clinic.slug}/")

    assert response.status_code == 200
    assert "Preview: this listing is a draft" in response.text
    assert "/request/" not in response.text


def test_clinic_specialists_are_paged_and_a_bad_page_is_400(client):
    clinic = ClinicFactory(slug="gross")
    location = LocationFactory(clinic=clinic)
    for _ in range(21):
        AffiliationFactory(location=location)

    first = client.get("/en/clinics/gross/")
    second = client.get("/en/clinics/gross/?page=2")

    assert "21 specialists at this clinic" in first.text
    assert 'rel="next"' in first.text
    assert second.text.count('class="people"') == 1
    assert client.get("/en/clinics/gross/?page=abc").status_code == 400
    past = client.get("/en/clinics/gross/?page=9")
    assert past.status_code == 200
    assert "There is no such page" in past.text


def test_clinic_profile_query_count_does_not_grow(client, django_assert_max_num_queries):
    clinic = ClinicFactory(slug="many")
    for _ in range(4):
        location = LocationFactory(clinic=clinic)
        AffiliationFactory(location=location)
        ClinicFactory(parent=clinic)
        clinic.certifications.create(title_en="Certified centre", issuer="A society")

    # The clinic, its locations with their closures and accessibility, departments, specialists.
    with django_assert_max_num_queries(8):  # the certifications: one more
        assert client.get("/en/clinics/many/").status_code == 200


def test_a_cached_clinic_page_changes_when_the_clinic_does(client):
    clinic = ClinicFactory(slug="changing", description_en="Old text.")
    assert "Old text." in client.get("/en/clinics/changing/").text

    clinic.description_en = "New text."
    clinic.save()

    assert "New text." in client.get("/en/clinics/changing/").text


def test_condition_page_links_its_clinics(client):
    from tests.factories import ConditionFactory

    condition = ConditionFactory(slug="liver-metastases")
    affiliation = AffiliationFactory(location__clinic__name="Klinikum Stadtpark")
    affiliation.specialist.conditions.add(condition)

    text = client.get("/en/conditions/liver-metastases/").text

    assert f'<a href="/en/clinics/{affiliation.clinic.slug}/">Klinikum Stadtpark</a>' in text


# --- Search --------------------------------------------------------------------------------


@pytest.fixture
def clinics(db):
    erfurt = ClinicFactory(name="Klinikum Erfurt Süd", slug="erfurt-sued")
    LocationFactory(clinic=erfurt, city="Erfurt", latitude=50.978, longitude=11.029)
    weimar = ClinicFactory(name="Praxis am Goetheplatz", slug="weimar", kind="practice")
    LocationFactory(clinic=weimar, city="Weimar", latitude=50.979, longitude=11.323)
    wien = ClinicFactory(name="Klinik Sonnleiten", slug="wien")
    LocationFactory(
        clinic=wien, city="Wien", country="AT", postcode="1130", latitude=48.19, longitude=16.28
    )
    ClinicFactory(name="Klinikum Entwurf", slug="entwurf", status="draft")
    return {"erfurt": erfurt, "weimar": weimar, "wien": wien}


def names(response) -> list[str]:
    return [clinic.name for clinic in response.context["listing"].page or []]


def test_clinic_search_lists_published_clinics_by_name(client, clinics):
    response = client.get("/en/clinics/")

    assert response.status_code == 200
    assert names(response) == ["Klinik Sonnleiten", "Klinikum Erfurt Süd", "Praxis am Goetheplatz"]
    assert "3 clinics found" in response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=sued", ["Klinikum Erfurt Süd"]),
        ("q=Klinikum+süd", ["Klinikum Erfurt Süd"]),
        ("q=GOETHE", ["Praxis am Goetheplatz"]),
        ("country=AT", ["Klinik Sonnleiten"]),
        ("country=AT&country=DE&kind=practice", ["Praxis am Goetheplatz"]),
        ("city=Erfurt&radius=10", ["Klinikum Erfurt Süd"]),
        ("city=Erfurt&radius=50", ["Klinikum Erfurt Süd", "Praxis am Goetheplatz"]),
        ("city=Weimar&radius=50&sort=distance", ["Praxis am Goetheplatz", "Klinikum Erfurt Süd"]),
    ],
)
def test_clinic_filters(client, clinics, query, expected):
    response = client.get(f"/en/clinics/?{query}")

    assert response.status_code == 200
    assert names(response) == expected


def test_clinic_distance_is_shown(client, clinics):
    text = client.get("/en/clinics/?city=Weimar&radius=50&sort=distance").text

    assert "km from Weimar" in text


@pytest.mark.parametrize(
    "query",
    [
        "radius=abc",
        "country=XX",
        "page=-1",
        "kind=castle",
        "radius=30",
        "q=" + "x" * 201,
    ],
)
def test_malformed_clinic_parameters_are_400_with_the_error_beside_the_field(client, query):
    response = client.get(f"/en/clinics/?{query}")

    assert response.status_code == 400
    assert 'class="error-summary"' in response.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("city=Atlantis", "We could not find a city or town called"),
        ("q=%21%21", "Your search has no letters or digits"),
        ("q=nothing-like-it", "No clinic matches all of these filters"),
        ("page=99", "There is no such page of results"),
    ],
)
def test_clinic_values_that_match_nothing_are_200_with_a_message(client, clinics, query, message):
    response = client.get(f"/en/clinics/?{query}")

    assert response.status_code == 200
    assert message in response.text


def test_clinic_search_pages_keep_every_filter_and_have_a_canonical_url(client):
    for number in range(21):
        LocationFactory(clinic=ClinicFactory(name=f"Klinikum {number:02d}"), country="AT")

    response = client.get("/en/clinics/?country=AT&q=klinikum&sort=name")

    assert 'href="/en/clinics/?q=klinikum&amp;country=AT&amp;page=2"' in response.text
    assert 'rel="canonical" href="http://testserver/en/clinics/?q=klinikum&amp;country=AT"' in (
        response.text
    )


def test_clinic_search_query_count_is_fixed(client, clinics, django_assert_max_num_queries):
    # The place, the count, the page, its locations; the medical fields of the menu (cached).
    with django_assert_max_num_queries(5):
        client.get("/en/clinics/?city=Erfurt&radius=100&country=DE")


def test_a_specialist_at_a_clinic_does_not_make_it_a_search_result_twice(client, clinics):
    for _ in range(3):
        AffiliationFactory(
            location=clinics["erfurt"].locations.get(), specialist=SpecialistFactory()
        )

    assert names(client.get("/en/clinics/?q=erfurt")) == ["Klinikum Erfurt Süd"]


def test_a_hospital_lists_the_specialists_of_its_departments(client):
    hospital = ClinicFactory(name="Klinikum Nord", slug="klinikum-nord", kind="hospital")
    department = ClinicFactory(name="Klinik für Kardiologie", parent=hospital, kind="department")
    AffiliationFactory(
        specialist__family_name="Herzberg", location=LocationFactory(clinic=department)
    )
    AffiliationFactory(specialist__family_name="Hausner", location=LocationFactory(clinic=hospital))

    page = client.get("/en/clinics/klinikum-nord/").content.decode()

    assert "Herzberg" in page
    assert "Hausner" in page


def test_clinics_are_found_by_condition_and_by_field(client):
    from tests.factories import ConditionFactory, SpecialtyFactory

    liver = ConditionFactory(slug="liver-metastases", name_en="Liver metastases")
    surgery = SpecialtyFactory(slug="visceral-surgery", name_en="Visceral surgery")
    hospital = ClinicFactory(name="Klinikum Leber", kind="hospital")
    department = ClinicFactory(name="Abteilung Chirurgie", parent=hospital, kind="department")
    other = ClinicFactory(name="Praxis Haut", kind="practice")
    surgeon = AffiliationFactory(location=LocationFactory(clinic=department)).specialist
    surgeon.specialties.add(surgery)
    surgeon.conditions.add(liver)
    AffiliationFactory(location=LocationFactory(clinic=other))

    def names(query):
        body = client.get("/en/clinics/", query).content.decode()
        return sorted(re.findall(r'<h3[^>]*><a href="/en/clinics/[^"]+">([^<]+)</a>', body))

    assert names({"condition": "liver-metastases"}) == ["Abteilung Chirurgie", "Klinikum Leber"]
    assert names({"specialty": "visceral-surgery"}) == ["Abteilung Chirurgie", "Klinikum Leber"]
    assert (
        "We do not know this condition"
        in client.get("/en/clinics/", {"condition": "unknown"}).content.decode()
    )
