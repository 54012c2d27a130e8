"""Our own SMART Scheduling Links feed (directory/slots/publish.py): the manifest and its three
NDJSON files, each line a FHIR resource (validated with fhir.resources' R4B models, whose
Location, Schedule and Slot are R4's)."""

import json
from datetime import time, timedelta

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.test import Client
from django.utils import timezone
from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.schedule import Schedule as FhirSchedule
from fhir.resources.R4B.slot import Slot as FhirSlot

from directory.models import Slot, SlotSource, WeeklyTemplate, WeeklyTime
from directory.slots import weekly
from tests.factories import AffiliationFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db

MODELS = {"Location": FhirLocation, "Schedule": FhirSchedule, "Slot": FhirSlot}
DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"


def lines(response) -> list[dict]:
    assert response["Content-Type"] == "application/fhir+ndjson"
    body = b"".join(response.streaming_content).decode()
    assert body.endswith("\n") or body == ""
    resources = [json.loads(line) for line in body.splitlines()]
    for resource in resources:
        MODELS[resource["resourceType"]].model_validate(resource)  # raises if not valid FHIR
    return resources


def weekly_times(**affiliation) -> WeeklyTemplate:
    place = AffiliationFactory(location__phone="+49 361 1234", **affiliation)
    template = WeeklyTemplate.objects.create(affiliation=place)
    tomorrow = timezone.localdate() + timedelta(days=1)
    WeeklyTime.objects.create(
        template=template, weekday=tomorrow.weekday(), starts=time(9), ends=time(10), minutes=30
    )
    weekly.regenerate(template.pk)
    return template


@pytest.fixture
def ours(db):
    template = weekly_times()
    template.affiliation.specialist.specialties.add(
        SpecialtyFactory(name_en="Visceral surgery", name_de="Viszeralchirurgie")
    )
    return template


def test_the_manifest_names_the_three_files(client, ours):
    response = client.get("/slots/$bulk-publish")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    manifest = response.json()
    assert manifest["request"].endswith("/slots/$bulk-publish")
    assert manifest["error"] == []
    assert manifest["transactionTime"].endswith("Z")
    assert [(o["type"], o["url"].split("/", 3)[3]) for o in manifest["output"]] == [
        ("Location", "slots/locations.ndjson"),
        ("Schedule", "slots/schedules.ndjson"),
        ("Slot", "slots/slots.ndjson"),
    ]
    for output in manifest["output"]:
        assert output["url"].startswith(("http://", "https://"))


def test_the_files_hold_valid_fhir_resources_of_our_slots(client, ours):
    location = ours.location
    specialist = ours.affiliation.specialist

    [place] = lines(client.get("/slots/locations.ndjson"))
    [schedule] = lines(client.get("/slots/schedules.ndjson"))
    slots = lines(client.get("/slots/slots.ndjson"))

    assert place["id"] == str(location.pk)
    assert place["address"] == {
        "line": [location.street],
        "city": location.city,
        "postalCode": location.postcode,
        "country": "DE",
    }
    assert place["position"] == {"latitude": location.latitude, "longitude": location.longitude}
    assert {"system": "phone", "value": "+49 361 1234"} in place["telecom"]
    assert schedule["actor"] == [
        {"reference": f"Location/{location.pk}"},
        {"display": specialist.display_name},
    ]
    assert schedule["serviceType"] == [{"text": "Visceral surgery"}]
    ids = {str(pk) for pk in ours.slots.values_list("pk", flat=True)}
    assert {slot["id"] for slot in slots} == ids
    first = min(slots, key=lambda slot: slot["start"])
    assert first["status"] == "free"
    assert first["schedule"] == {"reference": f"Schedule/{ours.pk}"}
    assert first["start"].endswith(("+01:00", "+02:00"))
    assert "T09:00:00" in first["start"]
    assert "T09:30:00" in first["end"]
    link = next(ext["valueUrl"] for ext in first["extension"] if ext["url"] == DEEP_LINK)
    assert link.startswith(("http://", "https://"))
    assert link.endswith(f"/en/book/{first['id']}/")


def test_only_our_bookable_slots_of_published_listings_are_published(client, ours):
    now = timezone.now()
    held, booked, *free = list(ours.slots.order_by("start"))
    held.held_until = now + timedelta(minutes=10)
    held.save()
    booked.booked = True
    booked.save()
    draft = weekly_times(specialist__status="draft")
    # A slot read from a practice's own feed belongs to its vendor.
    place = AffiliationFactory()
    source = SlotSource.objects.create(specialist=place.specialist, url="https://pvs.example/x")
    Slot.objects.create(
        source=source,
        external_id="1",
        clinic=place.clinic,
        location=place.location,
        affiliation=place,
        span=DateTimeTZRange(now + timedelta(hours=2), now + timedelta(hours=3)),
    )
    # A slot that has begun.
    Slot.objects.create(
        template=ours,
        clinic=ours.location.clinic,
        location=ours.location,
        affiliation=ours.affiliation,
        span=DateTimeTZRange(now - timedelta(minutes=5), now + timedelta(minutes=25)),
    )

    published = {slot["id"] for slot in lines(client.get("/slots/slots.ndjson"))}
    schedules = {s["id"] for s in lines(client.get("/slots/schedules.ndjson"))}
    places = {p["id"] for p in lines(client.get("/slots/locations.ndjson"))}

    assert published == {str(slot.pk) for slot in free}
    assert schedules == {str(ours.pk)}
    assert places == {str(ours.location_id)}
    assert str(draft.location_id) not in places


@pytest.mark.parametrize(
    "path", ["/slots/locations.ndjson", "/slots/schedules.ndjson", "/slots/slots.ndjson"]
)
def test_an_unchanged_file_answers_304_with_cors(client, ours, path, django_assert_max_num_queries):
    first = client.get(path)
    b"".join(first.streaming_content)
    etag = first["ETag"]
    assert first["Access-Control-Allow-Origin"] == "*"

    with django_assert_max_num_queries(1):
        again = Client().get(path, headers={"if-none-match": etag})

    assert again.status_code == 304
    assert again["Access-Control-Allow-Origin"] == "*"


def test_the_slot_files_etag_changes_when_a_slot_is_booked(client, ours):
    etag = client.get("/slots/slots.ndjson")["ETag"]
    slot = ours.slots.order_by("start").first()
    slot.booked = True
    slot.save()

    response = client.get("/slots/slots.ndjson", headers={"if-none-match": etag})

    assert response.status_code == 200
    assert str(slot.pk) not in {s["id"] for s in lines(response)}


def test_the_files_take_a_fixed_number_of_queries_however_many_slots(
    client, django_assert_max_num_queries
):
    for _ in range(3):
        weekly_times()
    assert Slot.objects.count() >= 6

    with django_assert_max_num_queries(3):
        assert len(lines(client.get("/slots/slots.ndjson"))) == Slot.objects.count()
    with django_assert_max_num_queries(3):
        assert len(lines(client.get("/slots/locations.ndjson"))) == 3
    with django_assert_max_num_queries(4):
        assert len(lines(client.get("/slots/schedules.ndjson"))) == 3


def test_the_feed_refuses_writes(client):
    assert client.post("/slots/slots.ndjson").status_code == 405
    assert client.post("/slots/$bulk-publish").status_code == 405
