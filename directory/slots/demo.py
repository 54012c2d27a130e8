"""Free times for the demo data set: weekly times entered on the site for two demo specialists,
and for a third a feed file uploaded as a practice without software would upload it. The file
is written anew for the coming two weeks each time the demo is loaded, and read at once, so
`make run` always shows times to come; nothing is fetched from another host. An editor's own
choice (another file, an address, other weekly times) is left alone."""

import json
from datetime import datetime, time, timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from directory.models import Affiliation, SlotSource, WeeklyTemplate, WeeklyTime
from directory.slots import sync, weekly

# slug -> (weekday, from, until, minutes per slot) rows
DEMO_WEEKLY = {
    "jannik-ohlsen": [(day, time(9), time(12), 20) for day in range(5)],
    "svenja-harms": [(1, time(14), time(17), 30), (3, time(8), time(11), 30)],
}
DEMO_FEED_SPECIALIST = "friederike-lohmeier"
DEMO_FEED_FILE = "demo-practice-software.ndjson"
FEED_DAYS = 14


def load_demo_slots() -> int:
    """Add the demo's weekly times where missing, write and read the demo feed; the number of
    weekly times added."""
    added = 0
    for slug, rows in DEMO_WEEKLY.items():
        affiliation = _primary(slug)
        if affiliation is None or WeeklyTemplate.objects.filter(affiliation=affiliation).exists():
            continue
        template = WeeklyTemplate.objects.create(affiliation=affiliation)
        WeeklyTime.objects.bulk_create(
            WeeklyTime(template=template, weekday=day, starts=start, ends=end, minutes=minutes)
            for day, start, end, minutes in rows
        )
        added += 1
    weekly.regenerate_many(
        WeeklyTemplate.objects.filter(affiliation__specialist__slug__in=DEMO_WEEKLY).values_list(
            "pk", flat=True
        )
    )
    _demo_feed()
    return added


def _primary(slug: str) -> Affiliation | None:
    return (
        Affiliation.objects.filter(specialist__slug=slug)
        .select_related("location", "specialist")
        .order_by("-is_primary", "id")
        .first()
    )


def _demo_feed() -> None:
    affiliation = _primary(DEMO_FEED_SPECIALIST)
    if affiliation is None:
        return
    source = SlotSource.objects.filter(specialist=affiliation.specialist).first()
    if source is not None and (source.url or not source.upload.name.endswith(DEMO_FEED_FILE)):
        return  # an editor's choice
    if source is None:
        source = SlotSource(specialist=affiliation.specialist)
    elif source.upload:
        source.upload.delete(save=False)
    source.upload.save(DEMO_FEED_FILE, ContentFile(feed_text(affiliation).encode()), save=False)
    source.save()
    sync.sync(source, force=True)


def feed_text(affiliation: Affiliation, today=None) -> str:
    """NDJSON as a practice's software writes it: its place, one schedule, and slots every
    half hour on weekday mornings for FEED_DAYS days, every third one already taken (busy)."""
    location = affiliation.location
    today = today or timezone.localdate()
    zone = weekly.time_zone(location.country)
    resources = [
        {
            "resourceType": "Location",
            "id": "practice",
            "name": affiliation.clinic.name,
            "address": {
                "line": [location.street],
                "city": location.city,
                "postalCode": location.postcode,
                "country": location.country,
            },
        },
        {
            "resourceType": "Schedule",
            "id": "consultations",
            "actor": [{"reference": "Location/practice"}],
            "serviceType": [{"text": "Consultation"}],
        },
    ]
    number = 0
    for offset in range(1, FEED_DAYS + 1):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for half_hour in range(6):
            start = datetime.combine(day, time(8), tzinfo=zone) + timedelta(minutes=30 * half_hour)
            number += 1
            resources.append(
                {
                    "resourceType": "Slot",
                    "id": f"slot-{day.isoformat()}-{half_hour}",
                    "schedule": {"reference": "Schedule/consultations"},
                    "status": "busy" if number % 3 == 0 else "free",
                    "start": start.isoformat(),
                    "end": (start + timedelta(minutes=30)).isoformat(),
                }
            )
    return "".join(json.dumps(resource) + "\n" for resource in resources)
