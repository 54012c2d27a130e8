"""Slots from weekly times entered on this site (WeeklyTemplate): for a practice whose software
publishes no feed, an editor or the practice (through its link, appointments.weekly_link) enters
"Tuesday 09:00-12:00, 20 minutes" and the days without slots; this module makes the slots for
the next SLOT_WEEKS_AHEAD weeks.

- Times are wall-clock times of the location's country (hours.TIME_ZONES): 09:00 stays 09:00
  when the clocks change. A time the clock skips (02:30 the night it springs forward) gives no
  slot; one it passes twice is taken the first time.
- No slots on the template's exceptions, on the location's closures and, where the location is
  closed on public holidays, on those of its region (hours.is_public_holiday).
- Regenerating keeps the slots still wanted (same beginning and end: their IDs stay, so a
  patient on the booking page of one loses nothing), deletes the free ones no longer wanted
  and adds the new ones, in one transaction under the template's row lock. A slot a booking
  holds or has taken is never deleted or moved, and no new slot is made over it; a slot whose
  row a booking has locked right now is left for the next run.

`manage.py generate_slots` regenerates every template daily (the horizon moves on a day); the
admin and the practice's page regenerate the one they saved, and the locations' admin those of
a location whose closures or holidays changed.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from directory import hours
from directory.slots import availability
from directory.slots.models import Slot, WeeklyTemplate


@dataclass
class Result:
    """What a regeneration did."""

    kept: int = 0
    added: int = 0
    deleted: int = 0
    left: int = 0  # free slots no longer wanted that a booking had locked: the next run

    def __iadd__(self, other: "Result") -> "Result":
        self.kept += other.kept
        self.added += other.added
        self.deleted += other.deleted
        self.left += other.left
        return self


def time_zone(country: str) -> ZoneInfo:
    return ZoneInfo(hours.TIME_ZONES.get(country, settings.TIME_ZONE))


def _local(day: date, minutes: int, zone: ZoneInfo) -> datetime | None:
    """The moment `minutes` after midnight of `day` on the zone's wall clock; None for a time
    the clock skips."""
    naive = datetime.combine(day, time(0)) + timedelta(minutes=minutes)
    moment = naive.replace(tzinfo=zone)
    if moment.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return moment


def horizon(now: datetime) -> datetime:
    return now + timedelta(weeks=settings.SLOT_WEEKS_AHEAD)


def wanted(template: WeeklyTemplate, now: datetime, until: datetime) -> set[tuple]:
    """The (start, end) of every slot the template gives after `now` and before `until`.
    Reads the template's rows, exceptions and its location's closures (prefetched or a query
    each)."""
    location = template.location
    zone = time_zone(location.country)
    rows = list(template.times.all())
    closed = [(e.first_day, e.last_day) for e in template.exceptions.all()]
    closed += [(c.first_day, c.last_day) for c in location.closures.all()]
    region = location.holiday_region if location.closed_on_public_holidays else ""
    spans = set()
    day, last = now.astimezone(zone).date(), until.astimezone(zone).date()
    while day <= last:
        if not (
            any(first <= day <= end for first, end in closed)
            or hours.is_public_holiday(region, day)
        ):
            for row in rows:
                if row.weekday != day.weekday():
                    continue
                if (row.valid_from and day < row.valid_from) or (
                    row.valid_until and day > row.valid_until
                ):
                    continue
                begin = row.starts.hour * 60 + row.starts.minute
                stop = row.ends.hour * 60 + row.ends.minute
                while begin + row.minutes <= stop:
                    start = _local(day, begin, zone)
                    end = _local(day, begin + row.minutes, zone)
                    if start and end and now < start < until:
                        spans.add((start, end))
                    begin += row.minutes
        day += timedelta(days=1)
    return spans


def _key(start: datetime, end: datetime) -> tuple:
    """Compares a span read from the database with one made here, whatever their zones."""
    return (start.timestamp(), end.timestamp())


def regenerate(template_id: int, *, now: datetime | None = None, refresh: bool = True) -> Result:
    """Make the template's slots what its rows and exceptions say (see the module's note). With
    `refresh`, the specialist's next free time follows."""
    now = now or timezone.now()
    until = horizon(now)
    result = Result()
    with transaction.atomic():
        template = (
            WeeklyTemplate.objects.select_for_update(of=("self",))
            .select_related("location", "affiliation")
            .prefetch_related("times", "exceptions", "location__closures")
            .filter(pk=template_id)
            .first()
        )
        if template is None:
            return result
        if template.affiliation_id and template.location_id != template.affiliation.location_id:
            # The place of work moved: its times move with it.
            template.location = template.affiliation.location
            template.save(update_fields=["location"])
        place = (template.location.clinic_id, template.location_id, template.affiliation_id)
        spans = {_key(*span): span for span in wanted(template, now, until)}
        kept, taken, unwanted = set(), [], {}
        for pk, span, booked, held_until, *slot_place in Slot.objects.filter(
            template=template, start__gt=now
        ).values_list(
            "pk", "span", "booked", "held_until", "clinic_id", "location_id", "affiliation_id"
        ):
            key = _key(span.lower, span.upper)
            if booked or (held_until is not None and held_until > now):
                taken.append(key)  # nothing is made over it, wherever it is
            elif key in spans and tuple(slot_place) == place:
                kept.add(key)
            else:
                unwanted[pk] = key
        if unwanted:
            # Locked and checked again: a booking may have taken one since it was read, and one
            # a booking has locked right now is left for the next run.
            free = list(
                Slot.objects.bookable(now)
                .filter(pk__in=unwanted)
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)
            )
            if free:
                Slot.objects.filter(pk__in=free).delete()
            result.deleted, result.left = len(free), len(unwanted) - len(free)
            # Those left stay where they are: nothing new is made over them.
            taken += [key for pk, key in unwanted.items() if pk not in set(free)]
        new = [
            Slot(
                template=template,
                clinic_id=template.location.clinic_id,
                location_id=template.location_id,
                affiliation_id=template.affiliation_id,
                span=DateTimeTZRange(start, end),
                start=start,
            )
            for key, (start, end) in sorted(spans.items())
            if key not in kept and not any(key[0] < e and s < key[1] for s, e in taken)
        ]
        Slot.objects.bulk_create(new)
        result.kept, result.added = len(kept), len(new)
        WeeklyTemplate.objects.filter(pk=template.pk).update(generated_at=now)
    if refresh and (result.added or result.deleted):
        # A clinic's own times: no specialist's row, but its page lists them.
        availability.refresh(
            [template.affiliation.specialist_id] if template.affiliation_id else []
        )
    return result


def regenerate_many(template_ids: Iterable[int], *, now: datetime | None = None) -> Result:
    """Regenerate these templates (each in a transaction of its own), then refresh the next
    free times of their specialists once."""
    now = now or timezone.now()
    total = Result()
    specialists = set()
    for pk in template_ids:
        result = regenerate(pk, now=now, refresh=False)
        total += result
        if result.added or result.deleted:
            specialists.add(pk)
    if specialists:
        availability.refresh(
            WeeklyTemplate.objects.filter(
                pk__in=specialists, affiliation__isnull=False
            ).values_list("affiliation__specialist_id", flat=True)
        )
    return total


def regenerate_location(location_id: int) -> Result:
    """After a location's closures or public holidays changed: its templates again."""
    ids = WeeklyTemplate.objects.filter(location_id=location_id).values_list("pk", flat=True)
    return regenerate_many(list(ids))


def regenerate_all(*, now: datetime | None = None) -> Result:
    """Every template (manage.py generate_slots)."""
    return regenerate_many(
        list(WeeklyTemplate.objects.order_by("pk").values_list("pk", flat=True)), now=now
    )
