"""The search page /<lang>/specialists/: text search, filters, distance, facets, pagination and
bad input."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory.models import Place, SpecialistSearch
from directory.places import fold
from directory.search import index, keys
from directory.search.filters import SpecialistFilterSet
from tests.factories import (
    AffiliationFactory,
    ClinicFactory,
    ConditionFactory,
    LocationFactory,
    SpecialistFactory,
    SpecialtyFactory,
)

pytestmark = pytest.mark.django_db

URL = "/en/specialists/"


def place(name: str) -> Place:
    return Place.objects.filter(name_en=name).order_by("-population").first()


def practice(specialist, city: str, country: str, clinic: str = "", status="published"):
    where = place(city)
    location = LocationFactory(
        clinic=ClinicFactory(name=clinic or f"Praxis {city}", status=status),
        city=where.name_de,
        country=country,
        latitude=where.latitude,
        longitude=where.longitude,
        place=where,
    )
    return AffiliationFactory(specialist=specialist, location=location)


@pytest.fixture
def world(db):
    """Six specialists in five cities; one draft."""
    internal = SpecialtyFactory(name_en="Internal medicine", name_de="Innere Medizin", slug="im")
    oncology = SpecialtyFactory(
        name_en="Oncology", name_de="Onkologie", slug="oncology", parent=internal
    )
    cardiology = SpecialtyFactory(name_en="Cardiology", name_de="Kardiologie", slug="cardiology")
    surgery = SpecialtyFactory(
        name_en="Visceral surgery", name_de="Viszeralchirurgie", slug="surgery"
    )
    liver = ConditionFactory(
        name_en="Liver metastases",
        name_de="Lebermetastasen",
        synonyms_en="Secondary liver cancer",
        synonyms_de="Tochtergeschwülste in der Leber",
        slug="liver-metastases",
    )
    heart = ConditionFactory(
        name_en="Atrial fibrillation", name_de="Vorhofflimmern", slug="atrial-fibrillation"
    )
    people = {}

    def person(key, given, family, fields, conditions, city, country, **kwargs):
        specialist = SpecialistFactory(given_name=given, family_name=family, **kwargs)
        specialist.specialties.set(fields)
        for position, condition in enumerate(conditions):
            specialist.specialistcondition_set.create(condition=condition, position=position)
        practice(specialist, city, country, clinic=kwargs.pop("clinic", ""))
        people[key] = specialist
        return specialist

    person("hanna", "Hanna", "Schüßler", [cardiology], [heart], "Berlin", "DE")
    person(
        "jonas",
        "Jonas",
        "Würschmidt",
        [oncology],
        [liver],
        "Potsdam",
        "DE",
        languages=["de", "tr"],
        insurance=["private"],
    )
    person(
        "clara",
        "Clara",
        "Weiß",
        [surgery],
        [liver],
        "Munich",
        "DE",
        insurance=["statutory", "self_pay"],
        accepts_new_patients=False,
    )
    person(
        "marco",
        "Marco",
        "Keller",
        [internal],
        [],
        "Zurich",
        "CH",
        languages=["de", "it", "fr"],
        insurance=["private"],
    )
    person("eva", "Eva", "Lindner", [cardiology], [heart], "Vienna", "AT", languages=["de"])
    person("paul", "Paul", "Verborgen", [cardiology], [heart], "Berlin", "DE", status="draft")
    return people


def found(response) -> list[str]:
    """The family names on the page, in order."""
    return re.findall(r'class="card__title"><a [^>]*>[^<]* (\S+)</a>', response.content.decode())


def heading(response) -> str:
    match = re.search(r'id="results-heading">\s*(.*?)\s*</h2>', response.content.decode(), re.S)
    return match.group(1)


def facet_count(response, name: str, value: str) -> int | None:
    body = response.content.decode()
    match = re.search(
        rf'id="{name}-{value}"[^>]*>\s*<label[^>]*>[^<]*<span class="facet__count">\(([\d,]+)\)',
        body,
    ) or re.search(rf'<option value="{value}"[^>]*>[^<]*\(([\d,]+)\)</option>', body)
    return int(match.group(1).replace(",", "")) if match else None


# --- Text ---------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["Schüßler", "Schuessler", "Schussler", "SCHÜSSLER", "schüssler"])
def test_umlauts_and_sharp_s_never_matter(client, world, q):
    assert found(client.get(URL, {"q": q})) == ["Schüßler"]


@pytest.mark.parametrize("q", ["Würschmidt", "Wuerschmidt", "Wurschmidt", "wursch"])
def test_accent_spellings_and_prefixes_find_the_same_name(client, world, q):
    assert found(client.get(URL, {"q": q})) == ["Würschmidt"]


@pytest.mark.parametrize(
    ("q", "name"),
    [
        ("Schüsler", "Schüßler"),
        ("Wurschmitt", "Würschmidt"),
        ("Lindnner", "Lindner"),
        ("Hana Schusler", "Schüßler"),
    ],
)
def test_a_typo_or_two_still_finds_the_name(client, world, q, name):
    assert found(client.get(URL, {"q": q})) == [name]


@pytest.mark.parametrize(
    ("url", "q"),
    [
        ("/en/specialists/", "Lebermetastasen"),
        ("/de/specialists/", "liver metastases"),
        ("/en/specialists/", "secondary liver cancer"),
        ("/en/specialists/", "Tochtergeschwulste"),
    ],
)
def test_conditions_match_in_both_languages_on_either_page(client, world, url, q):
    assert found(client.get(url, {"q": q})) == ["Weiß", "Würschmidt"]


def test_medical_fields_and_cities_match(client, world):
    assert found(client.get(URL, {"q": "Kardiologie"})) == ["Lindner", "Schüßler"]
    assert found(client.get(URL, {"q": "Potsdam"})) == ["Würschmidt"]
    assert found(client.get(URL, {"q": "Wien"})) == ["Lindner"]
    # Words combine: a field and a city.
    assert found(client.get(URL, {"q": "cardiology vienna"})) == ["Lindner"]


def test_a_broader_field_finds_its_sub_fields(client, world):
    assert found(client.get(URL, {"q": "internal medicine"})) == ["Keller", "Würschmidt"]


def test_names_rank_above_conditions_then_similar_spellings(client, world):
    leber = SpecialistFactory(given_name="Anna", family_name="Leber")
    practice(leber, "Hamburg", "DE")
    lebert = SpecialistFactory(given_name="Tom", family_name="Leberd")
    practice(lebert, "Hamburg", "DE")
    response = client.get(URL, {"q": "leber"})
    # Names that begin with the word first (by name), then the condition Lebermetastasen.
    assert found(response) == ["Leber", "Leberd", "Weiß", "Würschmidt"]
    assert "Ordered by how well they match" in response.content.decode()
    assert found(client.get(URL, {"q": "leber", "sort": "name"})) == [
        "Leber",
        "Leberd",
        "Weiß",
        "Würschmidt",
    ]
    # A word that begins nothing known is taken for a typo: a similar term stands in for it,
    # and its matches rank after the exact ones.
    practice(SpecialistFactory(given_name="Ida", family_name="Lebrecht"), "Hamburg", "DE")
    assert found(client.get(URL, {"q": "Lebermetastasn"})) == ["Weiß", "Würschmidt"]
    assert found(client.get(URL, {"q": "Lebrecht Hamburg"})) == ["Lebrecht"]
    assert "Lebrecht" in found(client.get(URL, {"q": "Leberecht Hamburg"}))
    assert found(client.get(URL, {"q": "Hamburg"})) == ["Leber", "Leberd", "Lebrecht"]


def test_drafts_are_never_found(client, world):
    assert "Verborgen" not in found(client.get(URL, {"q": "Verborgen"}))
    assert "Verborgen" not in found(client.get(URL))


def test_a_clinic_name_finds_its_specialists(client, world):
    specialist = SpecialistFactory(given_name="Lea", family_name="Brandt")
    practice(specialist, "Leipzig", "DE", clinic="Herzzentrum Auenwald")
    assert found(client.get(URL, {"q": "auenwald"})) == ["Brandt"]


# --- Keeping the index up to date ---------------------------------------------------------


def test_the_index_follows_every_change(client, world):
    hanna = world["hanna"]
    hanna.family_name = "Öztürk"
    hanna.save()
    assert found(client.get(URL, {"q": "Ozturk"})) == ["Öztürk"]
    assert found(client.get(URL, {"q": "Schussler"})) == []
    hanna.status = "archived"
    hanna.save()
    assert found(client.get(URL, {"q": "Ozturk"})) == []
    # A clinic that is taken off the site no longer places its specialists in its city.
    jonas = world["jonas"]
    clinic = jonas.affiliations.get().clinic
    clinic.status = "draft"
    clinic.save()
    assert found(client.get(URL, {"q": "Potsdam"})) == []
    assert SpecialistSearch.objects.get(specialist=jonas).countries == []


def test_sql_fold_agrees_with_python_fold_on_names():
    names = ["Schüßler", "Zürich", "Genève", "Øresund", "Ærø", "Müller-Lüdenscheidt", "Straße"]
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute("SELECT directory_fold(%s)", [name])
            assert cursor.fetchone()[0] == fold(name), name


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet="aeiouäöüßéèçñ AEOUÄÖÜ-'", max_size=30))
def test_sql_fold_agrees_with_python_fold(db, text):
    with connection.cursor() as cursor:
        cursor.execute("SELECT directory_fold(%s)", [text])
        assert cursor.fetchone()[0] == fold(text)


# --- Filters --------------------------------------------------------------------------------


def test_each_filter_keeps_only_what_it_says(client, world):
    assert found(client.get(URL, {"country": "AT"})) == ["Lindner"]
    assert found(client.get(URL, {"country": ["AT", "CH"]})) == ["Keller", "Lindner"]
    assert found(client.get(URL, {"language": "tr"})) == ["Würschmidt"]
    assert found(client.get(URL, {"language": ["it", "tr"]})) == ["Keller", "Würschmidt"]
    assert found(client.get(URL, {"condition": "liver-metastases"})) == ["Weiß", "Würschmidt"]
    assert found(client.get(URL, {"specialty": "cardiology"})) == ["Lindner", "Schüßler"]
    # A broader field includes its sub-fields.
    assert found(client.get(URL, {"specialty": "im"})) == ["Keller", "Würschmidt"]


def test_new_patients_keeps_exactly_those_who_accept_them(client, world):
    everyone = found(client.get(URL))
    assert "Weiß" in everyone
    accepting = found(client.get(URL, {"new_patients": "1"}))
    assert accepting == [name for name in everyone if name != "Weiß"]
    assert len(accepting) == 4


def test_insurance_is_truthful(client, world):
    statutory = found(client.get(URL, {"insurance": "statutory"}))
    assert statutory == ["Lindner", "Schüßler", "Weiß"]  # never the private-only Keller
    assert found(client.get(URL, {"insurance": "self_pay"})) == ["Weiß"]


def test_distance_keeps_those_within_the_radius_and_orders_by_it(client, world):
    response = client.get(URL, {"city": "Berlin", "radius": "50", "sort": "distance"})
    assert found(response) == ["Schüßler", "Würschmidt"]  # Berlin, then Potsdam (~27 km)
    body = response.content.decode()
    assert re.search(r"0\.0 km from Berlin", body)
    assert re.search(r"2\d\.\d km from Berlin", body)
    assert found(client.get(URL, {"city": "Berlin", "radius": "10"})) == ["Schüßler"]
    # From Munich: Zurich (about 240 km), Vienna (355), Potsdam (470); Berlin is 504 km away.
    assert found(client.get(URL, {"city": "Munich", "radius": "500", "sort": "distance"})) == [
        "Weiß",
        "Keller",
        "Lindner",
        "Würschmidt",
    ]


def test_city_accepts_either_language_or_a_slug(client, world):
    for city in ("Wien", "Vienna", "vienna", "WIEN"):
        assert found(client.get(URL, {"city": city, "radius": "20"})) == ["Lindner"]
    for city in ("Zürich", "Zurich", "Zuerich"):
        assert found(client.get(URL, {"city": city})) == ["Keller"]


def test_facet_counts_are_disjunctive(client, world):
    response = client.get(URL, {"country": "DE"})
    # The country facet ignores its own selection ...
    assert facet_count(response, "country", "DE") == 3
    assert facet_count(response, "country", "AT") == 1
    assert facet_count(response, "country", "CH") == 1
    # ... while every other facet counts within Germany.
    assert facet_count(response, "language", "tr") == 1
    assert facet_count(response, "language", "it") is None  # nobody in Germany speaks it
    assert facet_count(response, "insurance", "private") == 2
    assert facet_count(response, "insurance", "self_pay") == 1
    assert facet_count(response, "specialty", "cardiology") == 1
    assert heading(response) == "3 specialists found"
    both = client.get(URL, {"country": "DE", "insurance": "self_pay"})
    assert heading(both) == "1 specialist found"
    assert facet_count(both, "country", "DE") == 1  # only Weiß takes self-payers ...
    assert facet_count(both, "country", "CH") == 0  # ... and nobody in Switzerland
    assert facet_count(both, "insurance", "statutory") == 2  # within Germany, all options
    assert facet_count(both, "insurance", "private") == 2


def test_counts_change_as_soon_as_a_listing_does(client, world):
    assert heading(client.get(URL, {"country": "AT"})) == "1 specialist found"
    practice(SpecialistFactory(given_name="Iris", family_name="Graz"), "Graz", "AT")
    assert heading(client.get(URL, {"country": "AT"})) == "2 specialists found"


def test_pagination_keeps_every_filter(client, world):
    with index.deferred():
        for number in range(23):
            specialist = SpecialistFactory(given_name="Max", family_name=f"Muster{number:02}")
            practice(specialist, "Berlin", "DE")
    query = {"q": "muster", "city": "berlin", "radius": "25", "language": "de", "sort": "name"}
    response = client.get(URL, query)
    assert heading(response) == "23 specialists found"
    assert len(found(response)) == 20
    next_url = re.search(r'href="([^"]+)" rel="next"', response.content.decode()).group(1)
    params = parse_qs(urlsplit(next_url.replace("&amp;", "&")).query)
    assert params == {
        "q": ["muster"],
        "city": ["berlin"],
        "radius": ["25"],
        "language": ["de"],
        "sort": ["name"],
        "page": ["2"],
    }
    second = client.get(next_url.replace("&amp;", "&"))
    assert found(second) == ["Muster20", "Muster21", "Muster22"]
    assert 'rel="prev"' in second.content.decode()
    assert '<link rel="canonical" href="http://testserver/en/specialists/?q=muster&amp;' in (
        second.content.decode()
    )


def test_german_page_is_german(client, world):
    response = client.get("/de/specialists/", {"country": "DE"})
    body = response.content.decode()
    assert "Fachärztinnen und Fachärzte gefunden" in body
    assert "Deutschland" in body


# --- Bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"radius": "abc", "city": "Berlin"}, "radius", "Enter a whole number."),
        ({"radius": "0", "city": "Berlin"}, "radius", "greater than or equal to 1"),
        ({"radius": "501", "city": "Berlin"}, "radius", "less than or equal to 500"),
        ({"radius": "10"}, "radius", "Choose a city or town"),
        ({"sort": "random"}, "sort", "Select a valid choice"),
        ({"country": "XX"}, "country", "Select a valid choice"),
        ({"language": "xx"}, "language", "Select a valid choice"),
        ({"insurance": "gold"}, "insurance", "Select a valid choice"),
        ({"new_patients": "yes"}, "new_patients", "Select a valid choice"),
        ({"page": "-1"}, "page", "greater than or equal to 1"),
        ({"page": "two"}, "page", "Enter a whole number."),
        ({"condition": "not a slug"}, "condition", "Enter a valid"),
        ({"q": "a" * 5000}, "q", "at most 200 characters"),
        ({"q": "liver\x00"}, "q", "Null characters are not allowed."),
        ({"city": "Ber\x00lin"}, "city", "Null characters are not allowed."),
    ],
)
def test_malformed_values_are_a_400_with_the_error_beside_the_field(
    client, world, query, field, message
):
    response = client.get(URL, query)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'class="error-summary"' in body
    # From the field's container to the next field's.
    section = body[body.index(f'id="field-{field}"') :]
    section = section[: section.find('id="field-', 10)]
    assert message in section
    assert heading(response) == "0 specialists found"


@pytest.mark.parametrize(
    ("query", "notice"),
    [
        ({"city": "Atlantis"}, "could not find a city or town called “Atlantis”"),
        ({"condition": "unknown-condition"}, "We do not know this condition"),
        ({"specialty": "unknown-field"}, "We do not know this condition"),
        ({"q": "😀"}, "no letters or digits"),
        ({"q": "Zzyzx"}, "No specialist matches"),
        ({"page": "99"}, "There is no page 99"),
    ],
)
def test_well_formed_values_that_match_nothing_are_a_200(client, world, query, notice):
    response = client.get(URL, query)
    assert response.status_code == 200
    assert notice in response.content.decode()


def test_invisible_direction_marks_around_a_name_are_ignored(client, world):
    response = client.get(URL, {"q": "\u200fSchüßler\u200e"})
    assert response.status_code == 200
    assert found(response) == ["Schüßler"]


def test_sorting_by_distance_without_a_place_keeps_the_results_and_asks_for_one(client, world):
    response = client.get(URL, {"sort": "distance", "country": "DE"})
    assert response.status_code == 200
    assert found(response) == ["Schüßler", "Weiß", "Würschmidt"]
    assert "To sort by distance, enter a city, town or postcode." in response.content.decode()


def test_the_distance_menu_is_in_order_and_pages_are_numbered(client, world):
    body = client.get(URL, {"city": "Berlin"}).content.decode()
    menu = re.search(r'<select name="radius".*?</select>', body, re.S).group(0)
    assert re.findall(r"within (\d+) km", menu) == ["5", "10", "25", "50", "100", "250", "500"]


def test_repeated_parameters_take_the_last_value(client, world):
    response = client.get(URL + "?q=x&q=Lindner&city=Atlantis&city=Wien&radius=1&radius=30")
    assert response.status_code == 200
    assert found(response) == ["Lindner"]


PARAMETERS = tuple(SpecialistFilterSet.base_filters)  # every parameter of the search
VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["DE", "AT", "1", "0", "-1", "500", "501", "distance", "de", "statutory"]),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.text(alphabet="\x00\u200e\u200f\u202e😀ß'\"%\\;<>", max_size=10),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(PARAMETERS), VALUES), max_size=8))
def test_no_query_string_ever_gives_a_500(client, world, params):
    query = "&".join(f"{name}={value}" for name, value in params)
    response = client.get(URL, dict(parse_qs(query, keep_blank_values=True)))
    assert response.status_code in (200, 400)


# --- Queries --------------------------------------------------------------------------------


def queries(client, query) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as context:
        response = client.get(URL, query)
    assert response.status_code == 200
    return len(context), response


def test_query_counts_are_pinned_and_do_not_grow_with_the_results(client, world):
    everything = {
        "q": "liver",
        "condition": "liver-metastases",
        "specialty": "surgery",
        "country": "DE",
        "city": "Munich",
        "radius": "50",
        "language": "de",
        "insurance": "statutory",
        "sort": "distance",
    }
    one, response = queries(client, everything)
    assert found(response) == ["Weiß"]
    assert one == 8
    call_command("seed_demo", specialists=500, verbosity=0)
    many, response = queries(client, {"q": "schu", "country": "DE"})
    assert int(heading(response).split()[0]) > 20  # more than a page
    few, response = queries(client, {"q": "schussler", "country": "DE"})
    assert found(response)[0] == "Schüßler"
    # The vocabulary, the typo check, the count, the page's rows, its cards (two: the listings,
    # their places of work with the closures of those).
    assert many == few == 7
    plain, _ = queries(client, {})
    assert plain == 5


def test_counts_survive_changes_the_search_does_not_see(client, world):
    hanna = world["hanna"]
    counts = keys.generation()
    cards = keys.generation(keys.CARDS_GENERATION_KEY)
    hanna.headline = "Head of cardiology"
    hanna.save()
    assert keys.generation() == counts
    assert keys.generation(keys.CARDS_GENERATION_KEY) != cards
    assert "Head of cardiology" in client.get(URL, {"q": "Schüßler"}).content.decode()
    hanna.languages = ["de", "en", "pl"]
    hanna.save()
    assert keys.generation() != counts


def test_deleting_listings_keeps_the_index_consistent(client, world):
    world["jonas"].delete()
    assert found(client.get(URL, {"q": "Würschmidt"})) == []
    assert not SpecialistSearch.objects.filter(specialist_id=world["jonas"].pk).exists()
    world["hanna"].affiliations.get().clinic.delete()
    assert found(client.get(URL, {"q": "Berlin"})) == []
    assert found(client.get(URL, {"q": "Schüßler"})) == ["Schüßler"]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign keys hold


def test_rebuild_search_restores_rows_changed_behind_the_index(client, world):
    SpecialistSearch.objects.all().delete()
    assert found(client.get(URL, {"q": "Schüßler"})) == []
    call_command("rebuild_search", stdout=None)
    assert found(client.get(URL, {"q": "Schüßler"})) == ["Schüßler"]


# --- The medical field page ------------------------------------------------------------------


def test_a_field_page_lists_its_specialists_and_those_of_its_sub_fields(client, world):
    response = client.get("/en/specialties/im/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<h1 id="field-title">Internal medicine</h1>' in body
    assert found(response) == ["Keller", "Würschmidt"]
    assert heading(response) == "2 specialists found"
    assert 'href="/en/specialties/oncology/"' in body  # its sub-field
    # The page's filters work as on the search page and keep to the field.
    assert found(client.get("/en/specialties/im/", {"country": "CH"})) == ["Keller"]
    assert facet_count(client.get("/en/specialties/im/", {"country": "CH"}), "country", "DE") == 1


def test_a_sub_field_page_has_breadcrumbs_and_is_german_on_the_german_site(client, world):
    body = client.get("/de/specialties/oncology/").content.decode()
    assert '<h1 id="field-title">Onkologie</h1>' in body
    assert 'href="/de/specialties/im/">Innere Medizin</a>' in body
    assert "1 Fachärztin oder Facharzt gefunden" in body


def test_field_page_errors(client, world):
    assert client.get("/en/specialties/no-such-field/").status_code == 404
    assert client.get("/en/specialties/im/", {"radius": "x"}).status_code == 400


def test_field_page_query_count_is_pinned(client, world, django_assert_num_queries):
    cache.clear()
    with django_assert_num_queries(6):
        client.get("/en/specialties/cardiology/", {"country": "DE", "language": "en"})
