"""Bringing a source's feed into the slot table (`manage.py sync_slots`).

A source is read when it changed: the manifest is asked for with `If-Modified-Since` (the
server's date of the last good feed), and its files are fetched only when its
`transactionTime` moved on. A feed that cannot be read, or whose slot lines are mostly
unusable, is reported on the source and changes nothing: the slots of the last good feed stay
until a good one replaces them. A good feed replaces the source's future slots in one
transaction, keeping the rows (and IDs) of slots that are still offered and never touching a
slot a booking holds or has taken.
"""

import http.client
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from directory.models import Affiliation, FeedLocation, FeedSchedule, Slot, SlotSource
from directory.places import fold
from directory.slots import availability
from directory.slots.feeds import Feed, FeedError, parse_manifest, read

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 20
MAX_BYTES = 20 * 1024 * 1024  # per file: a year of a large clinic's slots is far less


@dataclass(frozen=True)
class Fetched:
    body: bytes
    last_modified: str
    not_modified: bool = False


def fetch(url: str, *, if_modified_since: str = "") -> Fetched:
    """GET an http(s) address (FeedError with the reason when it fails)."""
    if urlsplit(url).scheme not in {"http", "https"}:
        raise FeedError(_("%(url)s is not an http or https address.") % {"url": url})
    headers = {
        "Accept": "application/json, application/fhir+ndjson, */*",
        "User-Agent": "SpecialistAtlas-slots/1",
    }
    if if_modified_since:
        headers["If-Modified-Since"] = if_modified_since
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            body = response.read(MAX_BYTES + 1)
            last_modified = response.headers.get("Last-Modified", "")
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return Fetched(b"", if_modified_since, not_modified=True)
        raise FeedError(
            _("%(url)s answered HTTP %(status)d.") % {"url": url, "status": error.code}
        ) from error
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        raise FeedError(
            _("%(url)s could not be reached (%(reason)s).") % {"url": url, "reason": reason}
        ) from error
    if len(body) > MAX_BYTES:
        raise FeedError(
            _("%(url)s is larger than %(megabytes)d MB.")
            % {"url": url, "megabytes": MAX_BYTES // (1024 * 1024)}
        )
    return Fetched(body, last_modified[:40])


def _text(body: bytes, name: str) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FeedError(_("%(file)s is not UTF-8 text.") % {"file": name}) from error


@dataclass
class Outcome:
    state: str  # "synced", "unchanged" or "failed"
    slots: int = 0
    message: str = ""


def sync(source: SlotSource, *, force: bool = False, now: datetime | None = None) -> Outcome:
    """Read one source and, if its feed changed and is good, replace its future slots. What
    happened is recorded on the source; the problems are written in the site's language."""
    now = now or timezone.now()
    with translation.override(settings.LANGUAGE_CODE):
        try:
            return _sync(source, force=force, now=now)
        except FeedError as error:
            return _failed(source, str(error), now)
        except Exception as error:
            logger.warning("Slot source %s failed: %s", source.pk, type(error).__name__)
            message = _(
                "The feed could not be read (an unexpected %(error)s); the slots of the last "
                "good one stay."
            ) % {"error": type(error).__name__}
            return _failed(source, message, now)


def _sync(source: SlotSource, *, force: bool, now: datetime) -> Outcome:
    """Read, check and write one source (FeedError when it cannot be read)."""
    loaded = _load(source, force=force, now=now)
    if loaded is None:
        SlotSource.objects.filter(pk=source.pk).update(
            checked_at=now, problem="", problem_since=None
        )
        return Outcome("unchanged", source.slot_count)
    feed, transaction_time, last_modified = loaded
    if not feed.slot_lines and not force and _has_future_slots(source, now):
        # A cut file or a manifest without slots must not empty the listing: an editor
        # who knows the practice has no times any more reads it with "Read now".
        return _failed(
            source,
            _(
                "The feed lists no slots at all, while the last good one had some; they "
                "stay. If the practice really has no times any more, read the source with "
                "“Read the selected sources now”."
            ),
            now,
        )
    if not feed.usable:
        message = _(
            "%(bad)d of %(total)d slot lines could not be used, so the feed was not taken "
            "and the slots of the last good one stay. The first problems:"
        ) % {"bad": feed.bad_slot_lines, "total": feed.slot_lines}
        return _failed(source, f"{message}\n{feed.report()}", now)
    count = apply(source, feed, now=now)
    SlotSource.objects.filter(pk=source.pk).update(
        checked_at=now,
        synced_at=now,
        transaction_time=transaction_time,
        last_modified=last_modified,
        problem="",
        problem_since=None,
        skipped=_skipped(source, feed),
        slot_count=count,
    )
    return Outcome("synced", count)


def _has_future_slots(source: SlotSource, now: datetime) -> bool:
    return Slot.objects.filter(source=source, start__gt=now).exists()


def _failed(source: SlotSource, message: str, now: datetime) -> Outcome:
    # No feed content reaches the log: it is public, but an address may carry a key.
    logger.warning("Slot source %s could not be used.", source.pk)
    SlotSource.objects.filter(pk=source.pk).update(
        checked_at=now, problem=message, problem_since=source.problem_since or now
    )
    return Outcome("failed", source.slot_count, message)


def _load(source: SlotSource, *, force: bool, now: datetime):
    """(feed, transaction time, server date), or None when the feed has not changed."""
    if not source.url:
        name = source.upload.name.rsplit("/", 1)[-1]
        try:
            with source.upload.open("rb") as upload:
                body = upload.read(MAX_BYTES + 1)
        except OSError as error:
            raise FeedError(_("The file %(file)s cannot be read.") % {"file": name}) from error
        return read([(None, name, _text(body, name))], now), "", ""
    manifest_response = fetch(
        source.url, if_modified_since="" if force or source.problem else source.last_modified
    )
    if manifest_response.not_modified:
        return None
    manifest = parse_manifest(manifest_response.body)
    if (
        not force
        and not source.problem
        and manifest.transaction_time
        and manifest.transaction_time == source.transaction_time
    ):
        return None
    files = []
    for kind, address in manifest.files:
        url = urljoin(source.url, address)
        name = url.rsplit("/", 1)[-1] or url
        files.append((kind, name, _text(fetch(url).body, name)))
    return read(files, now), manifest.transaction_time[:40], manifest_response.last_modified


def _skipped(source: SlotSource, feed: Feed) -> str:
    report = feed.report()
    unmatched = source.feed_locations.filter(location__isnull=True).count()
    if unmatched:
        note = _(
            "%(count)d places of the feed are not matched to ours, and their slots are left "
            "out: choose them below."
        ) % {"count": unmatched}
        report = f"{note}\n{report}" if report else note
    return report


def _street_key(street: str) -> str:
    # "Hauptstr. 5" and "Hauptstraße 5" alike.
    return re.sub(r"(strasse|str)\b", "str", fold(street)).replace(" ", "")


def _match_place(place, candidates: list) -> int | None:
    """Our location at the feed place's postcode and street, if exactly one is."""
    found = [
        location.pk
        for location in candidates
        if location.postcode.strip() == place.postcode
        and _street_key(location.street) == _street_key(place.street)
    ]
    return found[0] if len(found) == 1 else None


def apply(source: SlotSource, feed: Feed, *, now: datetime) -> int:
    """Write a good feed: its places and schedules (matched to ours where they can be), then
    its slots in place of the source's future ones; the number of free slots kept."""
    touched_affiliations: set[int] = set()
    with transaction.atomic():
        # One writer per source: two runs of sync_slots at once wait for each other.
        source = SlotSource.objects.select_for_update().get(pk=source.pk)
        candidates = list(source.candidate_locations())
        places = _write_places(source, feed, candidates)
        schedules = _write_schedules(source, feed, places, candidates)
        wanted = {}
        for entry in feed.slots:
            schedule = schedules[entry.schedule_id]
            location = schedule.location
            if location is None:
                continue
            wanted[entry.external_id] = Slot(
                source=source,
                external_id=entry.external_id,
                clinic_id=location.clinic_id,
                location_id=location.pk,
                affiliation_id=schedule.affiliation_id,
                span=DateTimeTZRange(entry.start, entry.end),
                start=entry.start,
                booking_url=entry.booking_url,
                booking_phone=entry.booking_phone,
            )
        # Locked, so a booking that holds one of them now waits for this transaction, and
        # this one sees every hold made before it (bookings lock the slot's row too).
        current = {
            slot.external_id: slot
            for slot in Slot.objects.select_for_update().filter(source=source)
        }
        stale = [
            slot.pk for key, slot in current.items() if key not in wanted and not _taken(slot, now)
        ]
        changed, new = [], []
        for key, slot in wanted.items():
            old = current.get(key)
            if old is None:
                new.append(slot)
            elif not _taken(old, now) and _differs(old, slot):
                touched_affiliations.add(old.affiliation_id)
                slot.pk = old.pk
                changed.append(slot)
        for slot in [*new, *changed]:
            touched_affiliations.add(slot.affiliation_id)
        touched_affiliations.update(
            slot.affiliation_id for slot in current.values() if slot.pk in set(stale)
        )
        Slot.objects.filter(pk__in=stale).delete()
        Slot.objects.bulk_update(
            changed,
            ["clinic", "location", "affiliation", "span", "start", "booking_url", "booking_phone"],
            batch_size=500,
        )
        Slot.objects.bulk_create(new, batch_size=500)
        if stale or changed or new:
            specialists = set(
                Affiliation.objects.filter(pk__in=touched_affiliations - {None}).values_list(
                    "specialist_id", flat=True
                )
            )
            availability.refresh(specialists)
    return Slot.objects.filter(source=source).bookable(now).count()


def _taken(slot: Slot, now: datetime) -> bool:
    return not slot.is_free(now)


_COMPARED = ("clinic_id", "location_id", "affiliation_id", "span", "booking_url", "booking_phone")


def _differs(old: Slot, new: Slot) -> bool:
    return any(getattr(old, name) != getattr(new, name) for name in _COMPARED)


@dataclass
class _Schedule:
    location: object  # our Location, or None when its place is not matched
    affiliation_id: int | None


def _write_places(source: SlotSource, feed: Feed, candidates: list) -> dict:
    """The feed's places as FeedLocation rows (new ones matched where they can be)."""
    existing = {place.external_id: place for place in source.feed_locations.all()}
    by_pk = {location.pk: location for location in candidates}
    for key, place in feed.places.items():
        row = existing.get(key)
        if row is None:
            row = FeedLocation(source=source, external_id=key[:200])
            existing[key] = row
        matched = row.location_id or _match_place(place, candidates)
        if (row.pk is None) or row.description != place.description or (matched != row.location_id):
            row.description, row.location_id = place.description, matched
            row.save()
    return {key: by_pk.get(row.location_id) for key, row in existing.items()}


def _write_schedules(source: SlotSource, feed: Feed, places: dict, candidates: list) -> dict:
    """The feed's schedules as FeedSchedule rows, each with our location and place of work."""
    existing = {row.external_id: row for row in source.feed_schedules.all()}
    feed_locations = {row.external_id: row.pk for row in source.feed_locations.all()}
    # The places of work a schedule may be: the specialist's (by location), or the clinic's
    # (by ID, with their location, to check an editor's choice). One query.
    listing = (
        {"specialist": source.specialist_id}
        if source.specialist_id
        else {"clinic": source.clinic_id}
    )
    places_of_work = dict(Affiliation.objects.filter(**listing).values_list("pk", "location_id"))
    own_affiliations = {location: pk for pk, location in places_of_work.items()}
    only_place = candidates[0] if len(candidates) == 1 else None
    result = {}
    for key, entry in feed.schedules.items():
        row = existing.get(key)
        if row is None:
            row = FeedSchedule(source=source, external_id=key[:200])
        feed_location_id = feed_locations.get(entry.location_id) if entry.location_id else None
        if row.pk is None or (row.description, row.feed_location_id) != (
            entry.description,
            feed_location_id,
        ):
            row.description, row.feed_location_id = entry.description, feed_location_id
            row.save()
        # A schedule that names no place is at the listing's only one, if it has one.
        location = places.get(entry.location_id) if entry.location_id else only_place
        affiliation_id = row.affiliation_id
        if source.specialist_id:
            affiliation_id = own_affiliations.get(location.pk) if location else None
        elif (
            affiliation_id
            and location is not None
            and places_of_work.get(affiliation_id) != location.pk
        ):
            # An editor's choice counts only for a place of work at the schedule's place.
            affiliation_id = None
        result[key] = _Schedule(location, affiliation_id)
    return result
