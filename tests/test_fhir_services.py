"""HealthcareService in the FHIR API (fhirapi, docs/api.md): a published department as a service
of its hospital (`dept-<clinic ID>`) and each item of a published specialist's treatment focus
as the specialist's service
(`focus-<specialist ID>-<condition ID>`); valid FHIR (fhir.resources), only published
data, bad parameters 400, paging over both parts, queries independent of the page size."""

from datetime import timedelta

import pytest
from django.utils import timezone

from directory.models import Clinic, Condition, Specialist, SpecialistCondition, Specialty
from tests.factories import (
    AffiliationFactory,
    ClinicFactory,
    ConditionFactory,
    LocationFactory,
    SpecialtyFactory,
)
from tests.test_fhir_api import BASE, fhir, ids, issues, link, valid

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def every_answer_made_afresh(settings, monkeypatch):
    """These tests change rows with update() (no signal, no new generation) and count a
    search's own queries: the API's cache and rate limit (tests/test_fhir_bulk.py) stay out."""
    from fhirapi import caching

    settings.FHIR_REQUESTS_PER_MINUTE = 0
    monkeypatch.setattr(caching, "cached", lambda request, compute: compute())


NEW_PATIENTS = "http://hl7.org/fhir/uv/vhdir/StructureDefinition/newpatients"


def service_id(item: SpecialistCondition) -> str:
    return f"focus-{item.specialist_id}-{item.condition_id}"


@pytest.fixture
def cardiology(db):
    return SpecialtyFactory(slug="cardiology", name_en="Cardiology", name_de="Kardiologie")


@pytest.fixture
def department(cardiology):
    """The cardiology department of Klinikum Erfurt, at one location with opening hours, where
    Dr. Herz works."""
    hospital = ClinicFactory(name="Klinikum Erfurt", kind=Clinic.Kind.HOSPITAL)
    department = ClinicFactory(
        name="Klinik für Kardiologie",
        kind=Clinic.Kind.DEPARTMENT,
        parent=hospital,
        phone="+49 361 7810",
    )
    LocationFactory(clinic=department, name="Haus 3", hours="Mo-Fr 08:00-16:00")
    return department


@pytest.fixture
def focus(department, cardiology):
    """Dr. Herz's treatment focus: heart failure (I50.9), at the department (her primary place of
    work) and at a practice; she accepts new patients (confirmed today)."""
    place = AffiliationFactory(
        clinic=department,
        location=department.locations.get(),
        is_primary=True,
        specialist__family_name="Herz",
        specialist__accepts_new_patients=True,
    )
    specialist = place.specialist
    AffiliationFactory(specialist=specialist, is_primary=False)
    specialist.specialties.add(cardiology)
    failure = ConditionFactory(slug="heart-failure", name_en="Heart failure", icd10="I50.9")
    specialist.conditions.add(failure, through_defaults={"position": 0})
    return SpecialistCondition.objects.get(specialist=specialist, condition=failure)


def test_a_department_is_a_service_of_its_hospital(client, department, focus):
    service = fhir(client, f"/fhir/HealthcareService/dept-{department.pk}")

    assert service["id"] == f"dept-{department.pk}"
    assert service["providedBy"] == {
        "reference": f"Organization/{department.parent_id}",
        "display": "Klinikum Erfurt",
    }
    assert service["name"] == "Klinik für Kardiologie"
    assert service["specialty"][0]["coding"][0]["code"] == "cardiology"
    [place] = department.locations.all()
    assert service["location"] == [
        {"reference": f"Location/{place.pk}", "display": "Klinik für Kardiologie, Haus 3"}
    ]
    assert service["availableTime"] == [
        {
            "daysOfWeek": ["mon", "tue", "wed", "thu", "fri"],
            "availableStartTime": "08:00:00",
            "availableEndTime": "16:00:00",
        }
    ]
    assert service["telecom"][0]["value"] == "+49 361 7810"
    for reference in (service["providedBy"], service["location"][0]):
        fhir(client, f"/fhir/{reference['reference']}")  # served


def test_a_treatment_focus_item_is_the_specialists_service(client, department, focus):
    service = fhir(client, f"/fhir/HealthcareService/{service_id(focus)}")
    specialist = focus.specialist

    assert service["type"][0]["coding"] == [
        {
            "system": f"{BASE}/CodeSystem/condition",
            "code": "heart-failure",
            "display": "Heart failure",
        },
        {"system": "http://hl7.org/fhir/sid/icd-10", "code": "I50.9"},
    ]
    assert service["name"] == f"Heart failure: {specialist.display_name}"
    # The primary place of work's clinic provides it; all places of work are its locations.
    assert service["providedBy"]["reference"] == f"Organization/{department.pk}"
    assert len(service["location"]) == 2
    assert "availableTime" not in service  # two places, two sets of hours
    assert service["specialty"][0]["coding"][0]["code"] == "cardiology"
    assert service["extension"] == [
        {
            "url": NEW_PATIENTS,
            "extension": [{"url": "acceptingPatients", "valueBoolean": True}],
        }
    ]
    # A fact not confirmed for too long is not given.
    Specialist.objects.filter(pk=specialist.pk).update(
        new_patients_confirmed_on=timezone.localdate() - timedelta(days=3650)
    )
    assert "extension" not in fhir(client, f"/fhir/HealthcareService/{service_id(focus)}")


@pytest.mark.parametrize(
    "path",
    [
        "HealthcareService/dept-999999",
        "HealthcareService/999",
        "HealthcareService/dept-",
        "HealthcareService/other-1",
        "HealthcareService/focus-99999999999999999999999",
        "HealthcareService/focus-1",
        "HealthcareService/focus-1-2-3",
        "HealthcareService/dept-1-2",
    ],
)
def test_unknown_ids_are_404(client, path):
    fhir(client, f"/fhir/{path}", status=404)


def test_a_focus_service_keeps_its_id_when_the_focus_is_written_again(client, focus):
    """A spreadsheet import replaces a specialist's focus items when it changes them: the ID is
    made of the specialist and the condition, not of the item."""
    SpecialistCondition.objects.filter(pk=focus.pk).delete()
    SpecialistCondition.objects.create(
        specialist_id=focus.specialist_id, condition_id=focus.condition_id, position=0
    )
    fhir(client, f"/fhir/HealthcareService/{service_id(focus)}")


def test_only_published_data_is_served(client, department, focus):
    other = ClinicFactory(kind=Clinic.Kind.PRACTICE)  # no parent: no service
    assert ids(fhir(client, "/fhir/HealthcareService")) == [
        f"dept-{department.pk}",
        service_id(focus),
    ]
    fhir(client, f"/fhir/HealthcareService/dept-{other.pk}", status=404)

    Clinic.objects.filter(pk=department.parent_id).update(status="draft")
    fhir(client, f"/fhir/HealthcareService/dept-{department.pk}", status=404)
    Condition.objects.filter(pk=focus.condition_id).update(needs_review=True)
    fhir(client, f"/fhir/HealthcareService/{service_id(focus)}", status=404)
    Condition.objects.filter(pk=focus.condition_id).update(needs_review=False)
    Specialist.objects.filter(pk=focus.specialist_id).update(status="archived")
    fhir(client, f"/fhir/HealthcareService/{service_id(focus)}", status=404)
    assert ids(fhir(client, "/fhir/HealthcareService")) == []


def test_a_specialist_without_a_published_place_of_work_has_no_provider(client, focus):
    Clinic.objects.update(status="draft")
    service = fhir(client, f"/fhir/HealthcareService/{service_id(focus)}")
    assert "providedBy" not in service
    assert "location" not in service


def test_services_are_found_by_each_parameter(client, department, focus, cardiology):
    dept, item = f"dept-{department.pk}", service_id(focus)
    [place] = department.locations.all()
    second = focus.specialist.affiliations.get(is_primary=False)

    def found(query: str) -> list[str]:
        return ids(fhir(client, f"/fhir/HealthcareService?{query}"))

    assert found(f"_id={dept}") == [dept]
    assert found(f"_id={item},dept-0,nonsense") == [item]
    assert found(f"organization=Organization/{department.parent_id}") == [dept]
    assert found(f"organization={department.pk}") == [item]
    assert found(f"location={BASE}/Location/{place.pk}") == [dept, item]
    assert found(f"location={second.location_id}") == [item]
    assert found("specialty=cardiology") == [dept, item]
    assert found(f"specialty={BASE}/CodeSystem/specialty|cardiology") == [dept, item]
    assert found("specialty=surgery") == []
    assert found("name=klinik fur") == [dept]
    assert found("name=heart") == [item]
    assert found("name=herz") == [item]
    assert found("name:contains=kardio") == [dept]
    assert found("active=true") == [dept, item]
    assert found("active=false") == []
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert found(f"_lastUpdated=lt{tomorrow}") == [dept, item]
    assert found(f"_lastUpdated=ge{tomorrow}") == []


def test_include_adds_providers_and_locations_once(client, department, focus):
    bundle = fhir(
        client,
        "/fhir/HealthcareService?_include=HealthcareService:organization"
        "&_include=HealthcareService:location",
    )
    assert ids(bundle, "include", "Organization") == sorted(
        [str(department.parent_id), str(department.pk)], key=int
    )
    assert len(ids(bundle, "include", "Location")) == 2  # the department's, the practice's


def test_paging_walks_departments_then_focus_items_and_back(client, department, focus):
    for _ in range(2):
        ClinicFactory(kind=Clinic.Kind.DEPARTMENT, parent=department.parent)
    for _ in range(2):
        focus.specialist.conditions.add(ConditionFactory(), through_defaults={"position": 1})
    everything = ids(fhir(client, "/fhir/HealthcareService?_count=100"))
    assert [i.split("-")[0] for i in everything] == ["dept"] * 3 + ["focus"] * 3

    bundle = fhir(client, "/fhir/HealthcareService?_count=2")
    assert bundle["total"] == 6
    pages = [ids(bundle)]
    while (following := link(bundle, "next")) is not None:
        assert "_after=" in following
        bundle = fhir(client, following)
        pages.append(ids(bundle))
    assert [i for page in pages for i in page] == everything
    assert [len(page) for page in pages] == [2, 2, 2]
    back = fhir(client, link(bundle, "previous"))
    assert ids(back) == pages[1]
    assert ids(fhir(client, link(back, "previous"))) == pages[0]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("_after=12", "_after"),
        ("_before=dept-x", "_before"),
        ("_after=focus-3", "_after"),
        ("_include=HealthcareService:endpoint", "_include"),
        ("_revinclude=PractitionerRole:organization", "_revinclude"),
        ("name:fuzzy=x", "modifier"),
        ("active=maybe", "active"),
        ("_lastUpdated=yesterday", "_lastUpdated"),
        ("service-category=1", "service-category"),
    ],
)
def test_bad_parameters_are_400(client, query, words):
    assert words in issues(fhir(client, f"/fhir/HealthcareService?{query}", status=400))


def test_the_capability_statement_declares_the_services(client):
    statement = fhir(client, "/fhir/metadata")
    [declared] = [r for r in statement["rest"][0]["resource"] if r["type"] == "HealthcareService"]
    assert [p["name"] for p in declared["searchParam"]] == [
        "_id",
        "_lastUpdated",
        "organization",
        "location",
        "specialty",
        "name",
        "active",
    ]
    assert declared["searchInclude"] == [
        "HealthcareService:organization",
        "HealthcareService:location",
    ]
    assert "searchRevInclude" not in declared


def test_a_search_costs_the_same_queries_for_one_result_or_a_hundred(
    client, cardiology, django_assert_num_queries
):
    for _ in range(3):
        hospital = ClinicFactory()
        department = ClinicFactory(kind=Clinic.Kind.DEPARTMENT, parent=hospital)
        place = AffiliationFactory(clinic=department, location=LocationFactory(clinic=department))
        place.specialist.specialties.add(cardiology)
        place.specialist.conditions.add(ConditionFactory(), through_defaults={"position": 0})
    path = (
        "/fhir/HealthcareService?_include=HealthcareService:organization"
        "&_include=HealthcareService:location"
    )
    # Counts of both parts, and for each its page: departments, their locations and fields;
    # focus items, their specialists' fields and places of work; then each include (the
    # locations with their accessibility facts).
    for count in (1, 100):
        with django_assert_num_queries(11):
            response = client.get(f"{path}&_count={count}")
        assert response.status_code == 200
        valid(response.json())


def test_services_carry_and_are_found_by_the_fields_snomed_codes(
    client, department, focus, cardiology
):
    Specialty.objects.filter(pk=cardiology.pk).update(snomed_code="394579002")
    dept, item = f"dept-{department.pk}", service_id(focus)
    snomed = {"system": "http://snomed.info/sct", "code": "394579002"}

    for service_id_ in (dept, item):
        [concept] = fhir(client, f"/fhir/HealthcareService/{service_id_}")["specialty"]
        assert concept["coding"][0]["code"] == "cardiology"
        assert concept["coding"][1] == snomed

    def found(query: str) -> list[str]:
        return ids(fhir(client, f"/fhir/HealthcareService?{query}"))

    assert found("specialty=http://snomed.info/sct|394579002") == [dept, item]
    assert found("specialty=http://other.example|394579002") == []
    assert found("specialty=http://snomed.info/sct|394582007") == []
