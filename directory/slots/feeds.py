"""Reading SMART Scheduling Links feeds: a `$bulk-publish` manifest that names NDJSON files of
FHIR R4 Location, Schedule and Slot resources (https://github.com/smart-on-fhir/smart-scheduling-links).

Only reading and checking happen here, without the database: `read()` turns the files' lines
into a `Feed` of places, schedules and future free slots, and says what it left out and why
(a line that is not JSON, a slot of an unknown schedule, one that overlaps another of its
schedule, ...). Whether a feed is good enough to replace the last good one is decided here too
(`Feed.usable`); directory.slots.sync writes it.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _

BOOKING_DEEP_LINK = "booking-deep-link"
BOOKING_PHONE = "booking-phone"
RESOURCE_TYPES = ("Location", "Schedule", "Slot")
# Reported per source; more would only fill the admin page.
MAX_PROBLEMS_LISTED = 20
# A feed whose slot lines are more than this share unusable is taken for broken (a changed
# format, a cut file) and does not replace the last good one.
MAX_BAD_SHARE = 0.5
# The longest ID of a resource kept (longer ones count as missing).
MAX_ID_LENGTH = 200
SLOT_STATUSES = {"free", "busy", "busy-unavailable", "busy-tentative", "entered-in-error"}


class FeedError(Exception):
    """The feed cannot be read at all (manifest missing or not a manifest, a file unreadable):
    nothing of it is used."""


@dataclass(frozen=True)
class Manifest:
    transaction_time: str
    files: list[tuple[str, str]]  # (resource type, URL as written)


@dataclass
class FeedPlace:
    external_id: str
    description: str
    postcode: str
    street: str


@dataclass
class FeedScheduleEntry:
    external_id: str
    description: str
    location_id: str | None  # the external ID of its Location, when it names one


@dataclass(frozen=True)
class FeedSlot:
    external_id: str
    schedule_id: str
    start: datetime
    end: datetime
    booking_url: str = ""
    booking_phone: str = ""


@dataclass
class Feed:
    places: dict[str, FeedPlace] = field(default_factory=dict)
    schedules: dict[str, FeedScheduleEntry] = field(default_factory=dict)
    slots: list[FeedSlot] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one per line left out, in order
    bad_slot_lines: int = 0
    slot_lines: int = 0
    past: int = 0  # free slots that had already begun: left out, not a problem

    @property
    def usable(self) -> bool:
        """Whether the feed may replace the last good one: its slot lines are mostly usable."""
        return not self.slot_lines or self.bad_slot_lines <= self.slot_lines * MAX_BAD_SHARE

    def report(self) -> str:
        """What was left out, for the editors (at most MAX_PROBLEMS_LISTED lines)."""
        lines = self.problems[:MAX_PROBLEMS_LISTED]
        if len(self.problems) > MAX_PROBLEMS_LISTED:
            lines.append(_("… and %(count)d more.") % {"count": len(self.problems) - len(lines)})
        return "\n".join(lines)


def parse_manifest(body: bytes) -> Manifest:
    """The manifest's transaction time and its files (FeedError if it is not one)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise FeedError(_("The manifest is not JSON.")) from error
    if not isinstance(data, dict) or not isinstance(data.get("output"), list):
        raise FeedError(_("The manifest has no list of files (“output”)."))
    files = []
    for entry in data["output"]:
        if not isinstance(entry, dict):
            raise FeedError(_("The manifest's list of files has an entry that is not an object."))
        kind, url = entry.get("type"), entry.get("url")
        if not isinstance(url, str) or not url.strip():
            raise FeedError(_("A file in the manifest has no address (“url”)."))
        if kind in RESOURCE_TYPES:
            files.append((kind, url.strip()))
    if not any(kind == "Slot" for kind, _url in files):
        raise FeedError(_("The manifest names no Slot file."))
    transaction_time = data.get("transactionTime")
    return Manifest(
        transaction_time=transaction_time if isinstance(transaction_time, str) else "",
        files=files,
    )


def _list(value) -> list:
    """A JSON array as a list; anything else (a feed's mistake) as an empty one."""
    return value if isinstance(value, list) else []


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _valid_id(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH


def _instant(value) -> datetime | None:
    """A FHIR instant (with its offset), or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _reference_id(reference, kind: str) -> str | None:
    """The ID in a reference such as {"reference": "Location/12"} (or a full URL ending so)."""
    if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
        return None
    parts = reference["reference"].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == kind and parts[-1]:
        return parts[-1]
    return None


def _extension(resource: dict, name: str, value_key: str) -> str:
    """The value of a SMART Scheduling Links extension, whichever registry URL it is under."""
    for extension in _list(resource.get("extension")):
        if (
            isinstance(extension, dict)
            and str(extension.get("url", "")).rstrip("/").endswith("/" + name)
            and isinstance(extension.get(value_key), str)
        ):
            return extension[value_key].strip()
    return ""


def _address(resource: dict) -> tuple[str, str, str]:
    """(description, postcode, street) of a Location."""
    address = resource.get("address") if isinstance(resource.get("address"), dict) else {}
    street_lines = [line for line in _list(address.get("line")) if isinstance(line, str)]
    street = ", ".join(street_lines)
    postcode = _text(address.get("postalCode"))
    city = _text(address.get("city"))
    name = _text(resource.get("name"))
    where = ", ".join(part for part in (street, f"{postcode} {city}".strip()) if part)
    description = " – ".join(part for part in (name, where) if part)
    return description[:500], postcode, street


def _schedule_description(resource: dict) -> str:
    parts = []
    for actor in _list(resource.get("actor")):
        if isinstance(actor, dict) and isinstance(actor.get("display"), str):
            parts.append(actor["display"].strip())
    for service in _list(resource.get("serviceType")):
        if isinstance(service, dict):
            text = service.get("text") or next(
                (c.get("display") for c in _list(service.get("coding")) if isinstance(c, dict)),
                None,
            )
            if isinstance(text, str):
                parts.append(text.strip())
    return " · ".join(part for part in parts if part)[:500]


def _booking_url(value: str) -> str:
    return value if value.startswith(("https://", "http://")) and len(value) <= 500 else ""


def lines_of(kind: str | None, text: str) -> Iterable[tuple[str | None, int, str]]:
    """The lines of one NDJSON file, numbered from 1, with the resource type the file is for
    (None for a file with every type, as an upload is)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield kind, number, line


def read(files: Iterable[tuple[str | None, str, str]], now: datetime) -> Feed:
    """A feed from its files: (resource type or None, file name for the report, text).

    Places first, then schedules, then slots, whatever order the files come in, so references
    resolve. Left out, each with a line in `problems`: lines that are not JSON or not a
    resource of their file's type, places and schedules without an ID, schedules whose place
    is unknown, slots without an ID, with unreadable times or ending before they begin, of an
    unknown schedule, repeated, or overlapping an earlier slot of their schedule. Busy slots
    and free ones that have begun are left out quietly."""
    feed = Feed()
    resources: dict[str, list[tuple[str, dict]]] = {kind: [] for kind in RESOURCE_TYPES}
    for kind, name, text in files:
        for expected, number, line in lines_of(kind, text):
            where = _("%(file)s, line %(number)d") % {"file": name, "number": number}
            try:
                resource = json.loads(line)
            except (ValueError, RecursionError):
                feed.problems.append(_("%(where)s: not JSON.") % {"where": where})
                if expected in (None, "Slot"):
                    feed.slot_lines += 1
                    feed.bad_slot_lines += 1
                continue
            actual = resource.get("resourceType") if isinstance(resource, dict) else None
            if actual not in RESOURCE_TYPES or (expected and actual != expected):
                feed.problems.append(
                    _("%(where)s: not a %(kind)s resource.")
                    % {"where": where, "kind": expected or "Location, Schedule or Slot"}
                )
                if expected == "Slot":
                    feed.slot_lines += 1
                    feed.bad_slot_lines += 1
                continue
            resources[actual].append((where, resource))

    for where, resource in resources["Location"]:
        external_id = resource.get("id")
        if not _valid_id(external_id):
            feed.problems.append(_("%(where)s: a place without an ID.") % {"where": where})
            continue
        description, postcode, street = _address(resource)
        feed.places[external_id] = FeedPlace(external_id, description, postcode, street)

    for where, resource in resources["Schedule"]:
        external_id = resource.get("id")
        if not _valid_id(external_id):
            feed.problems.append(_("%(where)s: a schedule without an ID.") % {"where": where})
            continue
        location_ids = [
            ref
            for ref in (_reference_id(actor, "Location") for actor in _list(resource.get("actor")))
            if ref
        ]
        unknown = [ref for ref in location_ids if ref not in feed.places]
        if unknown:
            feed.problems.append(
                _("%(where)s: schedule %(id)s names the unknown place %(place)s.")
                % {"where": where, "id": external_id, "place": unknown[0]}
            )
            continue
        feed.schedules[external_id] = FeedScheduleEntry(
            external_id,
            _schedule_description(resource),
            location_ids[0] if location_ids else None,
        )

    seen: set[str] = set()
    for where, resource in resources["Slot"]:
        feed.slot_lines += 1
        problem = _slot_problem(resource, feed, seen)
        if problem:
            feed.bad_slot_lines += 1
            feed.problems.append(f"{where}: {problem}")
            continue
        seen.add(resource["id"])
        if resource.get("status") != "free":
            continue
        start, end = _instant(resource["start"]), _instant(resource["end"])
        if start <= now:
            feed.past += 1
            continue
        feed.slots.append(
            FeedSlot(
                external_id=resource["id"],
                schedule_id=_reference_id(resource.get("schedule"), "Schedule"),
                start=start,
                end=end,
                booking_url=_booking_url(_extension(resource, BOOKING_DEEP_LINK, "valueUrl")),
                booking_phone=_extension(resource, BOOKING_PHONE, "valueString")[:40],
            )
        )
    _drop_overlaps(feed)
    return feed


def _slot_problem(resource: dict, feed: Feed, seen: set[str]) -> str:
    external_id = resource.get("id")
    if not _valid_id(external_id):
        return _("a slot without an ID.")
    if external_id in seen:
        return _("slot %(id)s appears twice.") % {"id": external_id}
    schedule_id = _reference_id(resource.get("schedule"), "Schedule")
    if schedule_id is None or schedule_id not in feed.schedules:
        return _("slot %(id)s belongs to an unknown schedule.") % {"id": external_id}
    start, end = _instant(resource.get("start")), _instant(resource.get("end"))
    if start is None or end is None:
        return _("slot %(id)s has no readable start and end (with time zone).") % {
            "id": external_id
        }
    if end <= start:
        return _("slot %(id)s ends before it begins.") % {"id": external_id}
    if not isinstance(resource.get("status"), str) or resource["status"] not in SLOT_STATUSES:
        return _("slot %(id)s has an unknown status.") % {"id": external_id}
    return ""


def _drop_overlaps(feed: Feed) -> None:
    """Leave out each slot that overlaps an earlier one of its schedule (a schedule is one
    person's or room's time: two slots at once are a mistake of the feed)."""
    kept, last_end = [], {}
    for slot in sorted(feed.slots, key=lambda slot: (slot.schedule_id, slot.start, slot.end)):
        previous = last_end.get(slot.schedule_id)
        if previous is not None and slot.start < previous:
            feed.bad_slot_lines += 1
            feed.problems.append(
                _("slot %(id)s overlaps another of schedule %(schedule)s.")
                % {"id": slot.external_id, "schedule": slot.schedule_id}
            )
            continue
        last_end[slot.schedule_id] = slot.end
        kept.append(slot)
    feed.slots = sorted(kept, key=lambda slot: (slot.start, slot.external_id))
