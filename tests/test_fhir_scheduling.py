"""Schedule and Slot in the FHIR API (fhirapi, docs/api.md): our own bookable slots of published
listings, as the SMART Scheduling Links feed publishes them, searchable by schedule, start and
status, schedules by actor; valid FHIR (fhir.resources), drafts 404, bad parameters 400, and a
search's queries independent of its page size."""

from datetime import time, timedelta

import pytest
from django.conf import settings
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from directory.models import Clinic, Slot, SlotSource, Specialist, WeeklyTemplate, WeeklyTime
from directory.slots import weekly
from tests.factories import AffiliationFactory, LocationFactory, SpecialtyFactory
from tests.test_fhir_api import BASE, fhir, ids, issues, link, valid

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def every_answer_made_afresh(settings, monkeypatch):
    """These tests change rows with update() (no signal, no new generation) and count a
    search's own queries: the API's cache and rate limit (tests/test_fhir_bulk.py) stay out."""
    from fhirapi import caching

    settings.FHIR_REQUESTS_PER_MINUTE = 0
    monkeypatch.setattr(caching, "cached", lambda request, compute: compute())


DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"
HL7_DEEP_LINK = (
    "http://hl7.org/fhir/uv/smart-scheduling-links/StructureDefinition/booking-deep-link"
)


def with_times(template: WeeklyTemplate, hours: int = 1) -> WeeklyTemplate:
    """Tomorrow from 09:00, `hours` long, in slots of 30 minutes (the weeks after left out)."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    WeeklyTime.objects.create(
        template=template,
        weekday=tomorrow.weekday(),
        starts=time(9),
        ends=time(9 + hours),
        minutes=30,
    )
    weekly.regenerate(template.pk)
    template.slots.filter(start__gte=timezone.now() + timedelta(days=3)).delete()
    return template


@pytest.fixture
def place():
    """Weekly times of Dr. Herz, cardiologist, at her practice in Erfurt: two slots tomorrow."""
    affiliation = AffiliationFactory(
        location__phone="+49 361 1234",
        location__city="Erfurt",
        specialist__family_name="Herz",
    )
    affiliation.specialist.specialties.add(
        SpecialtyFactory(slug="cardiology", name_en="Cardiology", name_de="Kardiologie")
    )
    return with_times(WeeklyTemplate.objects.create(affiliation=affiliation))


@pytest.fixture
def clinic_times(place):
    """The clinic's own times at another of its locations: two slots tomorrow."""
    location = LocationFactory(clinic=place.location.clinic, name="Haus B")
    return with_times(WeeklyTemplate.objects.create(location=location))


def slot_ids(template: WeeklyTemplate) -> list[str]:
    return [str(pk) for pk in template.slots.order_by("pk").values_list("pk", flat=True)]


def test_a_schedule_of_a_place_of_work_names_role_practitioner_and_location(client, place):
    schedule = fhir(client, f"/fhir/Schedule/{place.pk}")
    affiliation = place.affiliation

    assert schedule["active"] is True
    assert [actor["reference"] for actor in schedule["actor"]] == [
        f"PractitionerRole/{affiliation.pk}",
        f"Practitioner/{affiliation.specialist_id}",
        f"Location/{place.location_id}",
    ]
    assert schedule["specialty"][0]["coding"][0] == {
        "system": f"{BASE}/CodeSystem/specialty",
        "code": "cardiology",
        "display": "Cardiology",
    }
    assert "lastUpdated" in schedule["meta"]
    # Every actor is served.
    fhir(client, f"/fhir/PractitionerRole/{affiliation.pk}")
    fhir(client, f"/fhir/Location/{place.location_id}")


def test_a_clinics_own_schedule_has_the_location_as_its_actor(client, clinic_times):
    schedule = fhir(client, f"/fhir/Schedule/{clinic_times.pk}")
    assert [actor["reference"] for actor in schedule["actor"]] == [
        f"Location/{clinic_times.location_id}"
    ]
    assert schedule["actor"][0]["display"].endswith(", Haus B")
    assert "specialty" not in schedule


def test_a_slot_links_to_our_booking_page(client, place):
    slot = place.slots.order_by("start").first()
    resource = fhir(client, f"/fhir/Slot/{slot.pk}")

    assert resource["schedule"] == {"reference": f"Schedule/{place.pk}"}
    assert resource["status"] == "free"
    assert resource["start"].startswith(
        (timezone.localdate() + timedelta(days=1)).isoformat() + "T09:00:00"
    )
    assert resource["start"][-6:] in {"+01:00", "+02:00"}  # the location's local time
    assert resource["end"][11:19] == "09:30:00"
    links = {e["url"]: e.get("valueUrl") for e in resource["extension"]}
    assert links[DEEP_LINK] == links[HL7_DEEP_LINK]
    assert links[DEEP_LINK].startswith(settings.SITE_URL + "/")
    assert links[DEEP_LINK].endswith(f"/{slot.pk}/")
    phones = [e["valueString"] for e in resource["extension"] if "valueString" in e]
    assert phones[0] == "+49 361 1234"
    assert resource["meta"]["lastUpdated"]


def test_only_bookable_slots_of_our_weekly_times_are_served(client, place):
    first, second = place.slots.order_by("start")
    now = timezone.now()
    Slot.objects.filter(pk=first.pk).update(booked=True)
    Slot.objects.filter(pk=second.pk).update(held_until=now + timedelta(minutes=10))
    # A slot read from a practice's own feed belongs to its vendor.
    source = SlotSource.objects.create(
        specialist=place.affiliation.specialist, url="https://pvs.example/$bulk-publish"
    )
    start = now + timedelta(days=2)
    feed = Slot.objects.create(
        source=source,
        external_id="x",
        clinic=place.location.clinic,
        location=place.location,
        affiliation=place.affiliation,
        span=DateTimeTZRange(start, start + timedelta(minutes=30)),
    )
    for slot in (first, second, feed):
        fhir(client, f"/fhir/Slot/{slot.pk}", status=404)
    assert ids(fhir(client, "/fhir/Slot")) == []
    # Weekly times with nothing bookable left are no schedule to offer.
    fhir(client, f"/fhir/Schedule/{place.pk}", status=404)
    assert ids(fhir(client, "/fhir/Schedule")) == []

    Slot.objects.filter(pk=second.pk).update(held_until=now - timedelta(minutes=1))
    assert ids(fhir(client, "/fhir/Slot")) == [str(second.pk)]


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_slots_and_schedules_of_unpublished_listings_are_404(client, place, clinic_times, status):
    Specialist.objects.filter(pk=place.affiliation.specialist_id).update(status=status)
    fhir(client, f"/fhir/Schedule/{place.pk}", status=404)
    for pk in slot_ids(place):
        fhir(client, f"/fhir/Slot/{pk}", status=404)
    # The clinic is published: its own times stay.
    assert ids(fhir(client, "/fhir/Schedule")) == [str(clinic_times.pk)]
    assert ids(fhir(client, "/fhir/Slot")) == slot_ids(clinic_times)

    Clinic.objects.filter(pk=clinic_times.location.clinic_id).update(status=status)
    assert ids(fhir(client, "/fhir/Schedule")) == []
    assert ids(fhir(client, "/fhir/Slot")) == []


def test_slots_are_found_by_schedule_start_and_status(client, place, clinic_times):
    ours, theirs = slot_ids(place), slot_ids(clinic_times)
    tomorrow = timezone.localdate() + timedelta(days=1)

    def found(query: str) -> list[str]:
        return ids(fhir(client, f"/fhir/Slot?{query}"))

    assert found(f"schedule={place.pk}") == ours
    assert found(f"schedule=Schedule/{clinic_times.pk}") == theirs
    assert found(f"schedule={BASE}/Schedule/{place.pk}") == ours
    assert found(f"start={tomorrow}") == sorted(ours + theirs, key=int)
    assert found(f"start=gt{tomorrow}") == []
    assert found(f"start=ge{tomorrow}T09:30&schedule={place.pk}") == ours[1:]
    assert found(f"start=lt{tomorrow}T09:30:00&schedule={place.pk}") == ours[:1]
    assert found(f"start=le{tomorrow}T09:00&schedule={place.pk}") == ours[:1]
    assert found(f"start=lt{tomorrow}") == []
    assert found("status=free") == sorted(ours + theirs, key=int)
    assert found("status=http://hl7.org/fhir/slotstatus|free") == sorted(ours + theirs, key=int)
    assert found("status=busy") == []


def test_schedules_are_found_by_actor(client, place, clinic_times):
    affiliation = place.affiliation

    def found(query: str) -> list[str]:
        return ids(fhir(client, f"/fhir/Schedule?{query}"))

    assert found(f"actor=PractitionerRole/{affiliation.pk}") == [str(place.pk)]
    assert found(f"actor=Practitioner/{affiliation.specialist_id}") == [str(place.pk)]
    assert found(f"actor={BASE}/Location/{clinic_times.location_id}") == [str(clinic_times.pk)]
    assert found(f"actor=Location/{place.location_id}") == [str(place.pk)]
    assert found("actor=Organization/1") == []
    assert found("active=true") == sorted([str(place.pk), str(clinic_times.pk)], key=int)
    assert found("active=false") == []


def test_include_and_revinclude_join_slots_and_schedules(client, place, clinic_times):
    slots = fhir(client, f"/fhir/Slot?schedule={place.pk}&_include=Slot:schedule")
    assert ids(slots) == slot_ids(place)
    assert ids(slots, "include", "Schedule") == [str(place.pk)]  # once

    schedules = fhir(client, f"/fhir/Schedule?_id={clinic_times.pk}&_revinclude=Slot:schedule")
    assert ids(schedules) == [str(clinic_times.pk)]
    assert ids(schedules, "include", "Slot") == slot_ids(clinic_times)


def test_slots_page_by_next_links(client):
    place = with_times(WeeklyTemplate.objects.create(affiliation=AffiliationFactory()), hours=3)
    made = slot_ids(place)
    assert len(made) == 6
    bundle = fhir(client, "/fhir/Slot?_count=4")
    assert bundle["total"] == 6
    pages = [ids(bundle)]
    while (following := link(bundle, "next")) is not None:
        bundle = fhir(client, following)
        pages.append(ids(bundle))
    assert pages == [made[:4], made[4:]]
    assert ids(fhir(client, link(bundle, "previous"))) == made[:4]


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/fhir/Slot?start=tomorrow", "start"),
        ("/fhir/Slot?start=ap2026", "ap"),
        ("/fhir/Slot?status=open", "status"),
        ("/fhir/Slot?_include=Slot:actor", "_include"),
        ("/fhir/Slot?schedule:missing=true", "modifier"),
        ("/fhir/Schedule?active=maybe", "active"),
        ("/fhir/Schedule?_revinclude=Slot:nothing", "_revinclude"),
        ("/fhir/Schedule?date=2026", "date"),
    ],
)
def test_bad_parameters_are_400(client, path, words):
    assert words in issues(fhir(client, path, status=400))


def test_the_capability_statement_declares_schedule_and_slot(client):
    statement = fhir(client, "/fhir/metadata")
    declared = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {"schedule", "start", "status"} <= {p["name"] for p in declared["Slot"]["searchParam"]}
    assert declared["Slot"]["searchInclude"] == ["Slot:schedule"]
    assert declared["Schedule"]["searchRevInclude"] == ["Slot:schedule"]
    assert "actor" in {p["name"] for p in declared["Schedule"]["searchParam"]}


@pytest.mark.parametrize(
    ("path", "queries"),
    [
        # count, page; the schedules: count, page, the specialists' fields
        ("/fhir/Slot?_include=Slot:schedule", 4),
        # count, page, the specialists' fields; the slots
        ("/fhir/Schedule?_revinclude=Slot:schedule", 4),
    ],
)
def test_a_search_costs_the_same_queries_for_one_result_or_a_hundred(
    client, django_assert_num_queries, path, queries
):
    for _ in range(3):
        affiliation = AffiliationFactory()
        affiliation.specialist.specialties.add(SpecialtyFactory())
        with_times(WeeklyTemplate.objects.create(affiliation=affiliation))
    for count in (1, 100):
        with django_assert_num_queries(queries):
            response = client.get(f"{path}&_count={count}")
        assert response.status_code == 200
        valid(response.json())
