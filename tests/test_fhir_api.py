"""The FHIR R4 API under /fhir/ (fhirapi, docs/api.md): every answer is valid FHIR (checked with
the fhir.resources models, offline), only published listings are served, every malformed or
unknown parameter is a 400 OperationOutcome, and a search costs the same queries whatever its
page size."""

from datetime import UTC, timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django.utils.http import http_date
from fhir.resources.R4B import get_fhir_model_class

from directory.models import Clinic, Specialist
from directory.search import keys
from fhirapi import search
from tests.factories import (
    AffiliationFactory,
    ClinicFactory,
    ConditionFactory,
    LocationFactory,
    SpecialistFactory,
    SpecialtyFactory,
)

pytestmark = pytest.mark.django_db

BASE = f"{settings.SITE_URL}/fhir"


def valid(data: dict) -> dict:
    """The resource (a Bundle with everything in it, an OperationOutcome ...) as FHIR R4 knows
    it: fhir.resources raises on any element, type or value the specification does not allow.
    (Its R4B models: R4B changed nothing in these resources' R4 structure.)"""
    get_fhir_model_class(data["resourceType"]).model_validate(data)
    return data


def fhir(client, path: str, status: int = 200, **headers) -> dict:
    response = client.get(path, headers=headers)
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/fhir+json")
    assert response["Access-Control-Allow-Origin"] == "*"
    return valid(response.json())


def issues(outcome: dict) -> str:
    assert outcome["resourceType"] == "OperationOutcome"
    return " ".join(issue["diagnostics"] for issue in outcome["issue"])


def ids(bundle: dict, mode: str = "match", kind: str | None = None) -> list[str]:
    return [
        entry["resource"]["id"]
        for entry in bundle.get("entry", [])
        if entry["search"]["mode"] == mode
        and (kind is None or entry["resource"]["resourceType"] == kind)
    ]


def link(bundle: dict, relation: str) -> str | None:
    for item in bundle["link"]:
        if item["relation"] == relation:
            assert item["url"].startswith(BASE)
            return item["url"].removeprefix(settings.SITE_URL)
    return None


@pytest.fixture
def cardiology(db):
    return SpecialtyFactory(
        slug="cardiology",
        name_en="Cardiology",
        name_de="Kardiologie",
        name_fr="Cardiologie",
        name_it="Cardiologia",
    )


@pytest.fixture
def role(cardiology):
    """Dr. Erika Herz, cardiologist at a practice in Berlin, speaking German and English, who
    treats heart failure (I50.9)."""
    location = LocationFactory(
        clinic__name="Herzpraxis Mitte",
        clinic__kind=Clinic.Kind.PRACTICE,
        street="Invalidenstraße 1",
        postcode="10115",
        city="Berlin",
        latitude=52.530,
        longitude=13.384,
        phone="+49 30 1234567",
        hours="Mo-Fr 08:00-12:00; Tu 20:00-02:00; Th 14:00-18:00 phone",
    )
    affiliation = AffiliationFactory(
        location=location,
        specialist__given_name="Erika",
        specialist__family_name="Herz",
        specialist__slug="erika-herz",
        specialist__certifications="Fachärztin für Innere Medizin und Kardiologie",
        role_title="Practice owner",
    )
    specialist = affiliation.specialist
    specialist.specialties.add(cardiology)
    failure = ConditionFactory(slug="heart-failure", name_en="Heart failure", icd10="I50.9")
    specialist.conditions.add(failure, through_defaults={"position": 0})
    return affiliation


def test_the_capability_statement_is_valid_and_lists_what_the_search_checks(client):
    statement = fhir(client, "/fhir/metadata")

    assert statement["fhirVersion"] == "4.0.1"
    assert "CC BY 4.0" in statement["copyright"]
    declared = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(declared) == {*search.KINDS, "CodeSystem"}
    for name, kind in search.KINDS.items():
        assert [p["name"] for p in declared[name]["searchParam"]] == list(kind.params)
    assert {"near", "address-city", "organization"} <= {
        p["name"] for p in declared["Location"]["searchParam"]
    }
    assert declared["PractitionerRole"]["searchInclude"] == [
        "PractitionerRole:practitioner",
        "PractitionerRole:organization",
        "PractitionerRole:location",
    ]
    assert "PractitionerRole:practitioner" in declared["Practitioner"]["searchRevInclude"]


def test_a_practitioner_reads_with_identifier_name_languages_and_treatment_focus(client, role):
    specialist = role.specialist
    response = client.get(f"/fhir/Practitioner/{specialist.pk}")
    practitioner = valid(response.json())

    assert practitioner["identifier"] == [
        {"use": "official", "system": f"{BASE}/sid/specialist", "value": "erika-herz"}
    ]
    assert practitioner["name"][0] == {
        "use": "official",
        "text": "Dr. med. Erika Herz",
        "family": "Herz",
        "given": ["Erika"],
        "prefix": ["Dr. med."],
    }
    languages = [c["coding"][0] for c in practitioner["communication"]]
    assert languages == [
        {"system": "urn:ietf:bcp:47", "code": "de", "display": "German"},
        {"system": "urn:ietf:bcp:47", "code": "en", "display": "English"},
    ]
    focus = practitioner["extension"][0]["valueCodeableConcept"]["coding"]
    assert {"system": "http://hl7.org/fhir/sid/icd-10", "code": "I50.9"} in focus
    assert focus[0]["system"] == f"{BASE}/CodeSystem/condition"
    assert practitioner["qualification"][0]["code"]["text"].startswith("Fachärztin")
    specialist.refresh_from_db()
    assert practitioner["meta"]["lastUpdated"].startswith(
        specialist.modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    )
    assert response["ETag"].startswith('W/"')
    assert response["Last-Modified"] == http_date(int(specialist.modified.timestamp()))
    assert response["Cache-Control"] == "public, max-age=60"


def test_roles_organizations_and_locations_read(client, role):
    department = ClinicFactory(name="Kardiologie", kind=Clinic.Kind.DEPARTMENT, parent=role.clinic)

    practitioner_role = fhir(client, f"/fhir/PractitionerRole/{role.pk}")
    assert practitioner_role["practitioner"]["reference"] == f"Practitioner/{role.specialist_id}"
    assert practitioner_role["organization"]["reference"] == f"Organization/{role.clinic_id}"
    assert practitioner_role["location"][0]["reference"] == f"Location/{role.location_id}"
    assert practitioner_role["specialty"] == [
        {
            "coding": [
                {
                    "system": f"{BASE}/CodeSystem/specialty",
                    "code": "cardiology",
                    "display": "Cardiology",
                }
            ],
            "text": "Cardiology",
        }
    ]
    assert practitioner_role["code"] == [{"text": "Practice owner"}]

    location = fhir(client, f"/fhir/Location/{role.location_id}")
    assert location["address"]["city"] == "Berlin"
    assert location["position"] == {"longitude": 13.384, "latitude": 52.53}
    assert location["managingOrganization"]["reference"] == f"Organization/{role.clinic_id}"
    # Phone hours are not opening hours; hours past midnight are split at it.
    assert location["hoursOfOperation"] == [
        {
            "daysOfWeek": ["mon", "tue", "wed", "thu", "fri"],
            "openingTime": "08:00:00",
            "closingTime": "12:00:00",
        },
        {"daysOfWeek": ["tue"], "openingTime": "20:00:00", "closingTime": "23:59:59"},
        {"daysOfWeek": ["wed"], "openingTime": "00:00:00", "closingTime": "02:00:00"},
    ]

    organization = fhir(client, f"/fhir/Organization/{department.pk}")
    assert organization["partOf"]["reference"] == f"Organization/{role.clinic_id}"
    assert organization["type"][0]["coding"][0]["code"] == "dept"
    assert fhir(client, f"/fhir/Organization/{role.clinic_id}")["type"][0]["text"] == "Practice"

    system = fhir(client, "/fhir/CodeSystem/specialty")
    assert system["url"] == f"{BASE}/CodeSystem/specialty"
    assert {
        "code": "cardiology",
        "display": "Cardiology",
        "designation": [
            {"language": "de", "value": "Kardiologie"},
            {"language": "fr", "value": "Cardiologie"},
            {"language": "it", "value": "Cardiologia"},
        ],
    } in system["concept"]


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_unpublished_listings_are_404_not_403(client, role, status):
    Specialist.objects.filter(pk=role.specialist_id).update(status=status)
    outcome = fhir(client, f"/fhir/Practitioner/{role.specialist_id}", status=404)
    assert outcome["issue"][0]["code"] == "not-found"
    fhir(client, f"/fhir/PractitionerRole/{role.pk}", status=404)
    assert ids(fhir(client, "/fhir/Practitioner")) == []
    # The clinic stays: it is published.
    fhir(client, f"/fhir/Organization/{role.clinic_id}")


def test_the_places_of_an_unpublished_clinic_are_not_served(client, role):
    department = ClinicFactory(kind=Clinic.Kind.DEPARTMENT, parent=role.clinic)
    Clinic.objects.filter(pk=role.clinic_id).update(status="draft")

    for path in (
        f"/fhir/Organization/{role.clinic_id}",
        f"/fhir/Location/{role.location_id}",
        f"/fhir/PractitionerRole/{role.pk}",
    ):
        fhir(client, path, status=404)
    assert "partOf" not in fhir(client, f"/fhir/Organization/{department.pk}")
    assert ids(fhir(client, "/fhir/Location")) == []
    assert ids(fhir(client, "/fhir/PractitionerRole")) == []
    # The specialist is published: still served, without the role.
    fhir(client, f"/fhir/Practitioner/{role.specialist_id}")


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/Practitioner/999999",
        "/fhir/Practitioner/abc",
        "/fhir/Patient/1",
        "/fhir/Patient",
        "/fhir/Practitioner/1/_history/1",
        "/fhir/CodeSystem/nope",
    ],
)
def test_unknown_addresses_are_404_operation_outcomes(client, path):
    fhir(client, path, status=404)


def test_searches_find_by_each_parameter(client, role, cardiology):
    other = AffiliationFactory(
        specialist__given_name="Jürgen",
        specialist__family_name="Müller",
        specialist__languages=["fr"],
        location__city="Erfurt",
        location__postcode="99084",
        location__country="DE",
    )
    herz, mueller = str(role.specialist_id), str(other.specialist_id)
    role_id, other_role = str(role.pk), str(other.pk)

    def found(query: str, kind: str = "Practitioner") -> list[str]:
        return ids(fhir(client, f"/fhir/{kind}?{query}"))

    assert found("name=herz") == [herz]
    assert found("name=mueller") == [mueller]  # umlauts either way
    assert found("name=erika herz") == [herz]
    assert found("name:contains=ller") == [mueller]
    assert found("name:exact=herz") == []
    assert found("family=Mül") == [mueller]
    assert found("given=jurgen") == [mueller]
    assert found("name=herz,müller") == sorted([herz, mueller], key=int)
    assert found("identifier=erika-herz") == [herz]
    assert found(f"identifier={BASE}/sid/specialist|erika-herz") == [herz]
    assert found("identifier=http://other.example|erika-herz") == []
    assert found("communication=fr") == [mueller]
    assert found("communication=urn:ietf:bcp:47|fr-CH") == [mueller]
    assert found("communication=fra") == []
    assert found(f"_id={herz}") == [herz]

    assert found("specialty=cardiology", "PractitionerRole") == [role_id]
    assert found(f"specialty={BASE}/CodeSystem/specialty|cardiology", "PractitionerRole") == [
        role_id
    ]
    assert found(f"practitioner=Practitioner/{mueller}", "PractitionerRole") == [other_role]
    assert found(f"organization={role.clinic_id}", "PractitionerRole") == [role_id]
    assert found(f"location={BASE}/Location/{other.location_id}", "PractitionerRole") == [
        other_role
    ]
    assert found("location.address-city=berlin", "PractitionerRole") == [role_id]

    berlin, erfurt = str(role.location_id), str(other.location_id)
    assert found("address-city=Berl", "Location") == [berlin]
    assert found("address-postalcode=990", "Location") == [erfurt]
    assert found("address-country=Deutschland", "Location") == sorted([berlin, erfurt], key=int)
    assert found("address-country=AT", "Location") == []
    assert found(f"organization={other.clinic_id}", "Location") == [erfurt]
    assert found("near=52.52|13.40|10|km", "Location") == [berlin]
    assert found("near=52.52|13.40|300|km", "Location") == sorted([berlin, erfurt], key=int)
    assert found("name=herzpraxis", "Organization") == [str(role.clinic_id)]
    assert found("identifier=nope", "Organization") == []


def test_last_updated_filters_with_prefixes(client, role):
    old = SpecialistFactory()
    Specialist.objects.filter(pk=old.pk).update(modified=timezone.now() - timedelta(days=400))
    today = timezone.now().date()

    def found(query: str) -> list[int]:
        return [int(i) for i in ids(fhir(client, f"/fhir/Practitioner?{query}"))]

    assert found(f"_lastUpdated=ge{today - timedelta(days=1)}") == [role.specialist_id]
    assert found(f"_lastUpdated=lt{today - timedelta(days=1)}") == [old.pk]
    year = (timezone.now() - timedelta(days=400)).year
    assert old.pk in found(f"_lastUpdated={year}")
    assert found(f"_lastUpdated=gt{today + timedelta(days=1)}T00:00:00Z") == []
    assert found(
        f"_lastUpdated=ge{today - timedelta(days=1)}&_lastUpdated=lt{today + timedelta(days=2)}"
    ) == [role.specialist_id]


def test_unknown_parameters_fail_the_search_unless_lenient(client, role):
    outcome = fhir(client, "/fhir/Practitioner?name=herz&_sort=family&colour=red", status=400)
    assert "_sort" in issues(outcome)
    assert "colour" in issues(outcome)

    bundle = fhir(client, "/fhir/Practitioner?name=herz&_sort=family", Prefer="handling=lenient")
    assert ids(bundle) == [str(role.specialist_id)]
    [warning] = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert "_sort" in issues(warning["resource"])
    assert "_sort" not in link(bundle, "self")


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("_count=1000", "at most 100"),
        ("_count=ten", "_count"),
        ("_count=-1", "_count"),
        ("_lastUpdated=2024-13-45", "_lastUpdated"),
        ("_lastUpdated=yesterday", "_lastUpdated"),
        ("_lastUpdated=ap2024", "ap"),
        ("_lastUpdated=9999", "year"),
        ("_include=Practitioner:organization", "_include"),
        ("_include=*", "_include"),
        ("_include:iterate=PractitionerRole:practitioner", "modifier"),
        ("_revinclude=Location:organization", "_revinclude"),
        ("_total=maybe", "_total"),
        ("_after=x", "_after"),
        ("_after=1&_before=5", "together"),
        ("name:fuzzy=x", "modifier"),
        ("active=maybe", "active"),
    ],
)
def test_malformed_parameters_are_400_with_an_operation_outcome(client, query, words):
    outcome = fhir(client, f"/fhir/Practitioner?{query}", status=400)
    assert words in issues(outcome)


@pytest.mark.parametrize(
    "near",
    [
        "52.5",
        "52.5|x|10|km",
        "91|13|10|km",
        "52.5|13.4|10|mi",
        "52.5|13.4|0|km",
        "52.5|13.4|100000|km",
        "nan|13.4|1|km",
        "52.5|13.4|10|km|x",
    ],
)
def test_a_malformed_near_is_400(client, near):
    outcome = fhir(client, f"/fhir/Location?near={near}", status=400)
    assert "near" in issues(outcome)


@pytest.mark.parametrize(
    "query",
    [
        "_id=99999999999999999999999",
        "organization=Organization/abc",
        "identifier=|",
        "name=%00",
        "address-postalcode=%25",
        "_lastUpdated=2024-02-30",
        "_lastUpdated=2024-01-01T10:00+99:00",
        "_count=99999999999999999999",
        "_before=99999999999999999999",
        "near=1e308|1e308|1e308|km",
    ],
)
def test_odd_values_never_answer_500(client, query):
    for kind in search.KINDS:
        response = client.get(f"/fhir/{kind}?{query}", headers={"prefer": "handling=lenient"})
        assert response.status_code in {200, 400}, (kind, query)
        valid(response.json())


def test_paging_walks_the_whole_result_by_next_and_back_by_previous(client):
    made = sorted(SpecialistFactory.create_batch(7), key=lambda s: s.pk)
    SpecialistFactory(status="draft")

    bundle = fhir(client, "/fhir/Practitioner?_count=3")
    assert bundle["total"] == 7
    pages = [ids(bundle)]
    while (following := link(bundle, "next")) is not None:
        assert "_after=" in following
        assert "_count=3" in following
        bundle = fhir(client, following)
        pages.append(ids(bundle))
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [int(i) for page in pages for i in page] == [s.pk for s in made]

    back = fhir(client, link(bundle, "previous"))
    assert ids(back) == pages[1]
    assert ids(fhir(client, link(back, "previous"))) == pages[0]
    assert "total" not in fhir(client, "/fhir/Practitioner?_total=none")


def test_include_and_revinclude_add_the_related_resources_once(client, role):
    second = AffiliationFactory(specialist=role.specialist, is_primary=False)
    roles = fhir(
        client,
        "/fhir/PractitionerRole?_include=PractitionerRole:practitioner"
        "&_include=PractitionerRole:organization&_include=PractitionerRole:location:Location",
    )
    assert ids(roles) == sorted([str(role.pk), str(second.pk)], key=int)
    assert ids(roles, "include", "Practitioner") == [str(role.specialist_id)]  # once
    assert sorted(ids(roles, "include", "Organization")) == sorted(
        [str(role.clinic_id), str(second.clinic_id)]
    )
    assert len(ids(roles, "include", "Location")) == 2

    practitioners = fhir(
        client,
        f"/fhir/Practitioner?_id={role.specialist_id}&_revinclude=PractitionerRole:practitioner",
    )
    assert ids(practitioners) == [str(role.specialist_id)]
    assert sorted(ids(practitioners, "include")) == sorted([str(role.pk), str(second.pk)])

    organizations = fhir(
        client,
        f"/fhir/Organization?_id={role.clinic_id}&_revinclude=Location:organization"
        "&_revinclude=PractitionerRole:organization",
    )
    assert ids(organizations, "include", "Location") == [str(role.location_id)]
    assert ids(organizations, "include", "PractitionerRole") == [str(role.pk)]


def test_included_resources_are_only_published_ones(client, role):
    Specialist.objects.filter(pk=role.specialist_id).update(status="draft")
    organizations = fhir(
        client, f"/fhir/Organization?_id={role.clinic_id}&_revinclude=PractitionerRole:organization"
    )
    assert ids(organizations, "include") == []


def test_conditional_reads_answer_304_until_the_listing_changes(client, role):
    path = f"/fhir/Practitioner/{role.specialist_id}"
    first = client.get(path)
    etag, modified = first["ETag"], first["Last-Modified"]

    unchanged = client.get(path, headers={"if-none-match": etag})
    assert unchanged.status_code == 304
    assert unchanged["ETag"] == etag
    assert unchanged["Access-Control-Allow-Origin"] == "*"
    assert client.get(path, headers={"if-modified-since": modified}).status_code == 304

    specialist = role.specialist
    specialist.family_name = "Herzog"
    specialist.modified = timezone.now() + timedelta(seconds=2)
    Specialist.objects.filter(pk=specialist.pk).update(
        family_name="Herzog", modified=timezone.now() + timedelta(seconds=2)
    )
    keys.bump_generation()  # as every save does (an update sends no signal): retires the cache
    changed = client.get(path, headers={"if-none-match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed.json()["name"][0]["family"] == "Herzog"  # not a cached page
    assert client.get(path, headers={"if-modified-since": modified}).status_code == 200

    bundle = client.get("/fhir/Practitioner")
    assert (
        client.get("/fhir/Practitioner", headers={"if-none-match": bundle["ETag"]}).status_code
        == 304
    )


def test_cors_preflight_head_and_other_methods(client, role):
    preflight = client.options(
        "/fhir/Practitioner",
        headers={"origin": "https://app.example", "access-control-request-method": "GET"},
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight["Access-Control-Allow-Methods"]
    assert "If-None-Match" in preflight["Access-Control-Allow-Headers"]

    read = client.get(f"/fhir/Practitioner/{role.specialist_id}")
    assert "ETag" in read["Access-Control-Expose-Headers"]
    head = client.head(f"/fhir/Practitioner/{role.specialist_id}")
    assert head.status_code == 200
    assert head.content == b""
    assert head["ETag"] == read["ETag"]

    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(f"/fhir/Practitioner/{role.specialist_id}")
        assert response.status_code == 405, method
        assert response["Allow"] == "GET, HEAD, OPTIONS"
        assert "read-only" in issues(valid(response.json()))


def test_json_is_the_one_format(client, role):
    assert client.get("/fhir/metadata?_format=json").status_code == 200
    assert client.get("/fhir/metadata?_format=application/fhir%2Bjson").status_code == 200
    assert (
        client.get("/fhir/metadata", headers={"accept": "text/html,*/*;q=0.8"}).status_code == 200
    )
    for response in (
        client.get("/fhir/metadata?_format=xml"),
        client.get("/fhir/Practitioner", headers={"accept": "application/fhir+xml"}),
    ):
        assert response.status_code == 406
        assert "JSON" in issues(valid(response.json()))


def _populate(number: int, cardiology) -> None:
    for _ in range(number):
        affiliation = AffiliationFactory()
        affiliation.specialist.specialties.add(cardiology)
        affiliation.specialist.conditions.add(ConditionFactory(icd10="C78.7"))


@pytest.mark.parametrize(
    ("path", "queries"),
    [
        # count, page, the page's treatment focus
        ("/fhir/Practitioner", 3),
        # ... and the roles with their specialists' fields and treatment focus (their services)
        ("/fhir/Practitioner?_revinclude=PractitionerRole:practitioner", 6),
        # count, page, the specialists' fields and treatment focus; each include one query, the
        # practitioners' treatment focus one more, the locations' accessibility facts one more
        (
            "/fhir/PractitionerRole?_include=PractitionerRole:practitioner"
            "&_include=PractitionerRole:organization&_include=PractitionerRole:location",
            9,
        ),
        # count, page, the locations' accessibility facts, the include
        ("/fhir/Location?near=50.97|11.03|50|km&_include=Location:organization", 4),
        # count, page, the revincluded locations and their accessibility facts
        ("/fhir/Organization?_revinclude=Location:organization", 4),
    ],
)
def test_a_search_costs_the_same_queries_for_one_result_or_a_hundred(
    client, cardiology, django_assert_num_queries, settings, path, queries
):
    settings.FHIR_REQUESTS_PER_MINUTE = 0  # the search's own queries (the limit's count is one)
    _populate(4, cardiology)
    separator = "&" if "?" in path else "?"
    for count in (1, 100):
        with django_assert_num_queries(queries):
            response = client.get(f"{path}{separator}_count={count}")
        assert response.status_code == 200
        valid(response.json())


def test_no_app_imports_the_api():
    """`fhirapi` imports `directory`; the site's apps never import `fhirapi` (README, Layout)."""
    from tests.test_promises import PROJECT

    for app in ("core", "directory", "appointments", "content"):
        for path in (PROJECT / app).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "import fhirapi" not in text, path
            assert "from fhirapi" not in text, path


CARDIOLOGY_SNOMED = "394579002"


def test_a_field_with_a_snomed_code_has_that_coding_after_ours(client, role, cardiology):
    cardiology.snomed_code = CARDIOLOGY_SNOMED
    cardiology.save()

    [concept] = fhir(client, f"/fhir/PractitionerRole/{role.pk}")["specialty"]
    assert concept["coding"] == [
        {"system": f"{BASE}/CodeSystem/specialty", "code": "cardiology", "display": "Cardiology"},
        {"system": "http://snomed.info/sct", "code": CARDIOLOGY_SNOMED},
    ]
    bundle = fhir(
        client,
        f"/fhir/PractitionerRole?_id={role.pk}&_include=PractitionerRole:practitioner",
    )
    [matched] = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    assert matched["specialty"] == [concept]
    # The Practitioner itself has no specialty element in FHIR R4: its fields are on its roles.
    assert "specialty" not in fhir(client, f"/fhir/Practitioner/{role.specialist_id}")


def test_specialty_searches_take_snomed_codes_and_nothing_of_other_systems(
    client, role, cardiology
):
    cardiology.snomed_code = CARDIOLOGY_SNOMED
    cardiology.save()
    other = AffiliationFactory()
    other.specialist.specialties.add(SpecialtyFactory(slug="dermatology"))  # no SNOMED code

    def found(query: str) -> list[str]:
        return ids(fhir(client, f"/fhir/PractitionerRole?{query}"))

    assert found(f"specialty=http://snomed.info/sct|{CARDIOLOGY_SNOMED}") == [str(role.pk)]
    assert found(f"specialty={CARDIOLOGY_SNOMED}") == [str(role.pk)]  # a code of any system
    assert found(f"specialty=http://other.example/fields|{CARDIOLOGY_SNOMED}") == []
    assert found("specialty=http://snomed.info/sct|cardiology") == []
    assert found(f"specialty={BASE}/CodeSystem/specialty|{CARDIOLOGY_SNOMED}") == []
    assert found("specialty=http://snomed.info/sct|") == []  # not the fields without a code
    assert found("specialty=http://snomed.info/sct|394582007,dermatology") == [str(other.pk)]


def test_the_capability_statement_names_both_systems_of_specialty(client):
    statement = fhir(client, "/fhir/metadata")
    [declared] = [r for r in statement["rest"][0]["resource"] if r["type"] == "PractitionerRole"]
    [specialty] = [p for p in declared["searchParam"] if p["name"] == "specialty"]
    assert "http://snomed.info/sct" in specialty["documentation"]
    assert f"{BASE}/CodeSystem/specialty" in specialty["documentation"]


VHDIR_ACCESSIBILITY = "http://hl7.org/fhir/uv/vhdir/StructureDefinition/accessibility"


def test_a_location_carries_its_current_accessibility_facts_as_vhdir_extensions(client, role):
    from directory.models import Feature, LocationFeature

    place = role.location
    old = timezone.localdate() - timedelta(days=settings.FACT_MAX_AGE_DAYS + 1)
    LocationFeature.objects.create(location=place, feature=Feature.SIGN_LANGUAGE)
    LocationFeature.objects.create(location=place, feature=Feature.STEP_FREE)
    LocationFeature.objects.create(location=place, feature=Feature.LIFT, present=False)
    LocationFeature.objects.create(location=place, feature=Feature.TOILET, confirmed_on=old)

    location = fhir(client, f"/fhir/Location/{place.pk}")
    assert location["extension"] == [
        {
            "url": VHDIR_ACCESSIBILITY,
            "valueCodeableConcept": {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/uv/vhdir/CodeSystem/accessibility",
                        "code": "handiaccess",
                        "display": "handicap accessible",
                    }
                ],
                "text": "step-free entrance",
            },
        },
        {
            "url": VHDIR_ACCESSIBILITY,
            "valueCodeableConcept": {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/uv/vhdir/CodeSystem/accessibility",
                        "code": "cultcomp",
                        "display": "Cultural competence",
                    }
                ],
                "text": "sign language",
            },
        },
    ]
    [found] = [e["resource"] for e in fhir(client, f"/fhir/Location?_id={place.pk}")["entry"]]
    assert found["extension"] == location["extension"]


def test_a_location_whose_facts_are_absent_or_no_longer_current_has_no_extension(client, role):
    from directory.models import Feature, LocationFeature

    old = timezone.localdate() - timedelta(days=settings.FACT_MAX_AGE_DAYS + 1)
    assert "extension" not in fhir(client, f"/fhir/Location/{role.location_id}")

    LocationFeature.objects.create(
        location=role.location, feature=Feature.STEP_FREE, confirmed_on=old
    )
    LocationFeature.objects.create(
        location=role.location, feature=Feature.VISUAL_HELP, present=False
    )
    keys.bump_generation()
    assert "extension" not in fhir(client, f"/fhir/Location/{role.location_id}")
