"""Operating the FHIR API (fhirapi/export.py, throttle.py, caching.py; docs/api.md): the nightly
bulk export holds exactly what the read endpoint serves, published listings only, is written
atomically in memory that does not grow with the directory, and is served with ETags; the API
answers 429 with Retry-After beyond its rate limit; reads and searches are cached until a
listing changes."""

import json
import os
import tracemalloc
from datetime import datetime

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from directory.models import Specialist
from fhirapi import export, search
from tests import test_fhir_api
from tests.factories import AffiliationFactory, LocationFactory, SpecialistFactory
from tests.test_fhir_api import BASE, valid

pytestmark = pytest.mark.django_db

# Dr. Erika Herz, cardiologist at a practice in Berlin (the fixtures of the API's tests).
cardiology = test_fhir_api.cardiology
role = test_fhir_api.role


@pytest.fixture
def root(settings, tmp_path):
    settings.FHIR_EXPORT_ROOT = tmp_path / "export"
    return settings.FHIR_EXPORT_ROOT


@pytest.fixture
def unpublished(role):
    """A draft specialist at the published clinic, and a draft clinic with its location and a
    published specialist working there: none of it may be exported."""
    AffiliationFactory(location=role.location, specialist__status="draft")
    hidden = LocationFactory(clinic__status="draft")
    return AffiliationFactory(location=hidden)


def lines(path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_the_export_holds_exactly_what_the_read_endpoint_serves_and_only_published_data(
    client, root, role, unpublished
):
    from datetime import time, timedelta

    from django.utils import timezone

    from directory.models import Slot, WeeklyTemplate, WeeklyTime
    from directory.slots import weekly
    from tests.factories import ConditionFactory

    # A treatment focus (a HealthcareService) and weekly times with slots (Schedule, Slot).
    condition = ConditionFactory()
    role.specialist.conditions.add(condition)
    times = WeeklyTemplate.objects.create(affiliation=role)
    tomorrow = timezone.localdate() + timedelta(days=1)
    WeeklyTime.objects.create(
        template=times, weekday=tomorrow.weekday(), starts=time(9), ends=time(10), minutes=30
    )
    weekly.regenerate(times.pk)
    manifest = export.export()

    exported = {}
    for name in search.KINDS:
        resources = lines(root / f"{name}.ndjson")
        for resource in resources:
            assert resource["resourceType"] == name
            valid(resource)
            read = client.get(f"/fhir/{name}/{resource['id']}")
            assert read.status_code == 200
            assert read.json() == resource
        exported[name] = {resource["id"] for resource in resources}
    assert exported == {
        "Practitioner": {str(role.specialist_id), str(unpublished.specialist_id)},
        "Organization": {str(role.clinic_id)},
        "Location": {str(role.location_id)},
        "PractitionerRole": {str(role.pk)},
        "HealthcareService": {
            f"focus-{role.specialist_id}-{pk}"
            for pk in role.specialist.conditions.values_list("pk", flat=True)
        },
        "Schedule": {str(times.pk)},
        "Slot": {str(pk) for pk in Slot.objects.values_list("pk", flat=True)},
    }
    assert len(exported["Slot"]) >= 2
    assert manifest["output"] == [
        {"type": name, "url": f"{BASE}/$export/{name}.ndjson", "count": len(exported[name])}
        for name in search.KINDS
    ]


def test_the_manifest_has_the_bulk_data_shape_and_is_served_as_written(client, root, role):
    manifest = export.export()

    assert set(manifest) == {"transactionTime", "request", "requiresAccessToken", "output", "error"}
    assert manifest["request"] == f"{BASE}/$export"
    assert manifest["requiresAccessToken"] is False
    assert manifest["error"] == []
    assert datetime.fromisoformat(manifest["transactionTime"]).tzinfo is not None
    assert manifest["transactionTime"].endswith("Z")
    response = client.get("/fhir/$export")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert json.loads(b"".join(response.streaming_content)) == manifest
    assert json.loads((root / "manifest.json").read_text()) == manifest
    assert client.post("/fhir/$export").status_code == 405
    for query in ["_type=Practitioner", "_since=2026-01-01", "_outputFormat=x"]:
        refused = client.get(f"/fhir/$export?{query}")
        assert refused.status_code == 400  # the nightly export is everything: never ignored
        assert query.split("=")[0] in refused.json()["issue"][0]["diagnostics"]
    assert client.get("/fhir/$export/Practitioner.ndjson?_since=2026").status_code == 400


def test_the_command_writes_the_export_and_fails_loudly_where_it_cannot(root, role, settings):
    call_command("export_fhir", "--batch-size", "1", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert sorted(path.name for path in root.iterdir()) == sorted(
        ["manifest.json", *(f"{name}.ndjson" for name in search.KINDS)]
    )

    blocker = root.parent / "a-file"
    blocker.write_text("not a directory")
    settings.FHIR_EXPORT_ROOT = blocker / "export"
    with pytest.raises(CommandError, match="FHIR_EXPORT_ROOT"):
        call_command("export_fhir")


def test_before_the_first_export_the_files_are_404_operation_outcomes(client, root):
    for path in ("/fhir/$export", "/fhir/$export/Practitioner.ndjson"):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "nightly" in valid(response.json())["issue"][0]["diagnostics"]
    export.export()
    for path in ("/fhir/$export/Patient.ndjson", "/fhir/$export/Practitioner.json"):
        assert client.get(path).status_code == 404


def test_files_are_served_as_ndjson_with_etags_and_304_until_their_content_changes(
    client, root, role
):
    export.export()
    path = "/fhir/$export/Practitioner.ndjson"
    response = client.get(path, headers={"accept": "application/fhir+ndjson"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+ndjson"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response["Access-Control-Expose-Headers"]
    assert b"".join(response.streaming_content) == (root / "Practitioner.ndjson").read_bytes()
    etag, modified = response["ETag"], response["Last-Modified"]

    unchanged = client.get(path, headers={"if-none-match": etag})
    assert unchanged.status_code == 304
    assert unchanged["ETag"] == etag
    assert unchanged["Access-Control-Allow-Origin"] == "*"
    assert client.get(path, headers={"if-modified-since": modified}).status_code == 304
    head = client.head(path)
    assert (head.status_code, head["ETag"]) == (200, etag)

    export.export()  # nothing changed: the file, its ETag and Last-Modified stay
    assert client.get(path, headers={"if-none-match": etag}).status_code == 304

    specialist = role.specialist
    specialist.family_name = "Herzog"
    specialist.save()
    export.export()
    changed = client.get(path, headers={"if-none-match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert b'"family":"Herzog"' in b"".join(changed.streaming_content)


def test_a_file_is_replaced_whole_or_not_at_all(tmp_path):
    target = tmp_path / "Practitioner.ndjson"
    target.write_bytes(b'{"old":1}\n')

    def failing():
        yield b'{"new":1}\n'
        # Halfway through, readers still see the old file whole.
        assert target.read_bytes() == b'{"old":1}\n'
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        export.write_atomically(target, failing())
    assert target.read_bytes() == b'{"old":1}\n'
    assert [path.name for path in tmp_path.iterdir()] == ["Practitioner.ndjson"]

    assert export.write_atomically(target, [b'{"new":1}\n', b'{"new":2}\n'])
    assert target.read_bytes() == b'{"new":1}\n{"new":2}\n'
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    assert [path.name for path in tmp_path.iterdir()] == ["Practitioner.ndjson"]


def _specialists(number: int) -> None:
    Specialist.objects.bulk_create(
        SpecialistFactory.build(certifications="Facharzt für Innere Medizin\n" * 5)
        for _ in range(number)
    )


def _peak(root, batch_size: int) -> int:
    tracemalloc.start()
    try:
        export.export(root, batch_size=batch_size)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_number_of_rows(tmp_path):
    """Ten times the specialists, about the same peak: only one batch is held at a time. (The
    same export in one batch needs several times as much: the measure sees rows held.)"""
    _specialists(50)
    export.export(tmp_path)  # warm up: imports, compiled queries
    small = _peak(tmp_path, batch_size=25)
    _specialists(450)
    large = _peak(tmp_path, batch_size=25)
    assert len(lines(tmp_path / "Practitioner.ndjson")) == 500

    assert large < 1.5 * small, (small, large)
    assert _peak(tmp_path, batch_size=10_000) > 3 * large


def test_past_the_rate_limit_the_api_answers_429_with_retry_after(client, settings, root, role):
    settings.FHIR_REQUESTS_PER_MINUTE = 3
    path = f"/fhir/Practitioner/{role.specialist_id}"
    for _ in range(3):
        assert client.get(path).status_code == 200
    assert client.options(path).status_code == 204  # a preflight does not count

    refused = client.get(path)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Access-Control-Allow-Origin"] == "*"
    assert "Retry-After" in refused["Access-Control-Expose-Headers"]
    assert refused["Content-Type"].startswith("application/fhir+json")
    outcome = valid(refused.json())
    assert outcome["issue"][0]["code"] == "throttled"
    assert client.get("/fhir/$export").status_code == 429  # the export counts too

    other = Client(REMOTE_ADDR="203.0.113.9")
    assert other.get(path).status_code == 200

    settings.FHIR_REQUESTS_PER_MINUTE = 0  # no limit
    assert client.get(path).status_code == 200


def test_a_cached_answer_costs_one_query_and_a_listing_change_retires_it(
    client, role, django_assert_num_queries
):
    read = f"/fhir/Practitioner/{role.specialist_id}"
    roles = "/fhir/PractitionerRole?_include=PractitionerRole:organization"
    first_read, first_search = client.get(read), client.get(roles)

    for path, first in ((read, first_read), (roles, first_search)):
        with django_assert_num_queries(1):  # the rate limit's count, nothing else
            again = client.get(path)
        assert again.content == first.content
        assert again["ETag"] == first["ETag"]
        with django_assert_num_queries(1):
            conditional = client.get(path, headers={"if-none-match": first["ETag"]})
        assert conditional.status_code == 304
    # Another query is another answer.
    assert client.get(f"{roles}&_count=1").json()["link"] != first_search.json()["link"]

    specialist = role.specialist
    specialist.family_name = "Herzog"
    specialist.save()
    assert client.get(read).json()["name"][0]["family"] == "Herzog"
    clinic = role.clinic
    clinic.name = "Herzzentrum Mitte"
    clinic.save()
    organizations = [
        entry["resource"]["name"]
        for entry in client.get(roles).json()["entry"]
        if entry["resource"]["resourceType"] == "Organization"
    ]
    assert organizations == ["Herzzentrum Mitte"]


def test_errors_are_not_cached(client, role):
    draft = SpecialistFactory(status="draft")
    path = f"/fhir/Practitioner/{draft.pk}"
    assert client.get(path).status_code == 404
    # Published without a signal (no new generation): the 404 was not kept.
    Specialist.objects.filter(pk=draft.pk).update(status="published")
    assert client.get(path).status_code == 200
