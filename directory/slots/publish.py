"""Our own SMART Scheduling Links feed: the free slots made on this site from weekly times
(directory.slots.weekly), so other portals can show them and send patients to our booking page.

    /slots/$bulk-publish        the manifest (JSON): transactionTime, request, output, error
    /slots/locations.ndjson     FHIR R4 Location, one a line: the places with weekly times
    /slots/schedules.ndjson     FHIR R4 Schedule: one per weekly times (a specialist's place
                                of work, or a clinic's own times at a location)
    /slots/slots.ndjson         FHIR R4 Slot: each bookable slot (free, not held, to come)

Only what this site made, of published listings: slots read from a practice's own feed belong
to its vendor and are not passed on. The files stream row by row (memory does not grow with the
number of slots); each answers with an ETag (a fingerprint of what it lists, one aggregate
query) and 304 to a matching If-None-Match; every answer may be read from any origin (CORS).
No Last-Modified: a deletion would not move it on, so a client relying on it could keep a
slot that has gone.
"""

import hashlib
import json
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.views.decorators.http import condition, require_safe

from directory.models import Location, Status
from directory.slots.models import Slot, WeeklyTemplate
from directory.slots.weekly import time_zone

NDJSON = "application/fhir+ndjson"
# The extension that links a slot to its booking page: the original SMART Scheduling Links
# URL, which the portals that read these feeds know, and the URL of the HL7 guide
# (smart-scheduling-links 1.0) that replaces it. Both are given (an extension may repeat).
DEEP_LINK_EXTENSIONS = [
    "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link",
    "http://hl7.org/fhir/uv/smart-scheduling-links/StructureDefinition/booking-deep-link",
]
PHONE_EXTENSIONS = [
    "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-phone",
    "http://hl7.org/fhir/uv/smart-scheduling-links/StructureDefinition/booking-phone",
]
FILES = {
    "Location": "slots-locations",
    "Schedule": "slots-schedules",
    "Slot": "slots-slots",
}
CHUNK = 2000
CACHE_CONTROL = "public, max-age=60"


def published_templates():
    """Weekly times whose listing the public sees: the clinic published and, for a place of
    work, the specialist too."""
    return WeeklyTemplate.objects.filter(location__clinic__status=Status.PUBLISHED).filter(
        Q(affiliation__isnull=True) | Q(affiliation__specialist__status=Status.PUBLISHED)
    )


def feed_slots(now: datetime):
    """The slots the feed lists: bookable, of published weekly times."""
    return Slot.objects.bookable(now).filter(template__in=published_templates())


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


def booking_url_pattern() -> str:
    """The absolute address of our booking page of a slot, with "{id}" for the slot's ID, in
    English (portals abroad send their visitors; the page offers German)."""
    marker = 987654321
    try:
        with translation.override("en"):
            path = reverse("appointments:book", kwargs={"slot_id": marker})
        return _absolute(path.replace(str(marker), "{id}"))
    except NoReverseMatch:
        # The booking page (appointments:book, being built beside this) is not in this
        # version yet; its address is /en/book/<slot_id>/.
        return _absolute("/en/book/{id}/")


def _line(resource: dict) -> str:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n"


def _cors(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = CACHE_CONTROL
    return response


def _fingerprint(*values) -> str:
    return hashlib.sha256(repr(values).encode()).hexdigest()[:32]


def _places_etag(request: HttpRequest, kind: str) -> str:
    facts = published_templates().aggregate(
        count=Count("pk"),
        ids=Sum("pk"),
        templates=Max("modified"),
        locations=Max("location__modified"),
        clinics=Max("location__clinic__modified"),
        specialists=Max("affiliation__specialist__modified"),
    )
    return _fingerprint(kind, settings.SITE_URL, sorted(facts.items()))


def _slots_etag(request: HttpRequest) -> str:
    facts = feed_slots(timezone.now()).aggregate(count=Count("pk"), ids=Sum("pk"), last=Max("pk"))
    return _fingerprint("Slot", booking_url_pattern(), sorted(facts.items()))


@require_safe
def manifest(request: HttpRequest) -> HttpResponse:
    """The entry point portals read first."""
    now = timezone.now().replace(microsecond=0)
    body = {
        "transactionTime": now.isoformat().replace("+00:00", "Z"),
        "request": _absolute(reverse("slots-manifest")),
        "output": [{"type": kind, "url": _absolute(reverse(name))} for kind, name in FILES.items()],
        "error": [],
    }
    return _cors(JsonResponse(body))


def _stream(lines) -> HttpResponse:
    response = StreamingHttpResponse(lines, content_type=NDJSON)
    return _cors(response)


def _location_lines():
    ids = published_templates().values("location_id")
    locations = Location.objects.filter(pk__in=ids).select_related("clinic").order_by("pk")
    with translation.override("en"):
        for location in locations.iterator(chunk_size=CHUNK):
            yield _line(location_resource(location))


def location_resource(location) -> dict:
    clinic = location.clinic
    name = f"{clinic.name}, {location.name}" if location.name else clinic.name
    telecom = []
    if location.phone or clinic.phone:
        telecom.append({"system": "phone", "value": location.phone or clinic.phone})
    telecom.append({"system": "url", "value": _absolute(clinic.get_absolute_url())})
    address = {
        "line": [location.street],
        "city": location.city,
        "postalCode": location.postcode,
        "country": location.country,
    }
    if location.region:
        address["state"] = location.region
    resource = {
        "resourceType": "Location",
        "id": str(location.pk),
        "name": name,
        "telecom": telecom,
        "address": address,
    }
    if location.latitude is not None and location.longitude is not None:
        resource["position"] = {"latitude": location.latitude, "longitude": location.longitude}
    return resource


def _schedule_lines():
    templates = (
        published_templates()
        .select_related("affiliation__specialist", "location__clinic")
        .prefetch_related("affiliation__specialist__specialties")
        .order_by("pk")
    )
    with translation.override("en"):
        for template in templates.iterator(chunk_size=CHUNK):
            yield _line(schedule_resource(template))


def schedule_resource(template: WeeklyTemplate) -> dict:
    actors = [{"reference": f"Location/{template.location_id}"}]
    resource = {"resourceType": "Schedule", "id": str(template.pk), "actor": actors}
    if template.affiliation_id:
        specialist = template.affiliation.specialist
        actors.append({"display": specialist.display_name})
        fields = [{"text": field.name} for field in specialist.specialties.all()]
        if fields:
            resource["serviceType"] = fields
    else:
        actors.append({"display": template.location.clinic.name})
    return resource


def _slot_lines():
    now = timezone.now()
    pattern = booking_url_pattern()
    rows = (
        feed_slots(now)
        .order_by("pk")
        .values_list(
            "pk", "template_id", "span", "location__country", "location__phone", "clinic__phone"
        )
    )
    for pk, template_id, span, country, phone, clinic_phone in rows.iterator(chunk_size=CHUNK):
        yield _line(
            slot_resource(pk, template_id, span, time_zone(country), pattern, phone or clinic_phone)
        )


def slot_resource(pk, template_id, span, zone, pattern: str, phone: str = "") -> dict:
    url = pattern.replace("{id}", str(pk))
    extensions = [{"url": ext, "valueUrl": url} for ext in DEEP_LINK_EXTENSIONS]
    if phone:
        extensions += [{"url": ext, "valueString": phone} for ext in PHONE_EXTENSIONS]
    return {
        "resourceType": "Slot",
        "id": str(pk),
        "schedule": {"reference": f"Schedule/{template_id}"},
        "status": "free",
        "start": span.lower.astimezone(zone).isoformat(),
        "end": span.upper.astimezone(zone).isoformat(),
        "extension": extensions,
    }


def _with_cors(view):
    """304s carry the CORS header too."""

    def wrapped(request, *args, **kwargs):
        return _cors(view(request, *args, **kwargs))

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@_with_cors
@require_safe
@condition(etag_func=lambda request: _places_etag(request, "Location"))
def locations(request: HttpRequest) -> HttpResponse:
    return _stream(_location_lines())


@_with_cors
@require_safe
@condition(etag_func=lambda request: _places_etag(request, "Schedule"))
def schedules(request: HttpRequest) -> HttpResponse:
    return _stream(_schedule_lines())


@_with_cors
@require_safe
@condition(etag_func=_slots_etag)
def slots(request: HttpRequest) -> HttpResponse:
    return _stream(_slot_lines())
