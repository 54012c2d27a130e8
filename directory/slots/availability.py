"""The next free time of each specialist, as the search rows carry it (SpecialistSearch.next_free),
and the free times a profile or clinic page lists.

A row's next free time changes when slots come or go (sync_slots, weekly templates), when a
booking holds, takes or frees one (appointments), and when time passes it. The first two call
`refresh()` for the specialists they touch; `roll()`, run by sync_slots every few minutes,
frees the holds that ran out and moves on the rows whose next free time has passed.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from django.db import connection, transaction
from django.utils import timezone

from directory.search.index import NEXT_FREE_SQL
from directory.search.keys import bump_generation

# How many free times a profile or clinic page lists.
LIST_LIMIT = 12


def refresh(specialist_ids: Iterable[int], now=None) -> int:
    """After a change to slots (of these specialists, or a clinic's own when there are none):
    recompute the next free time on their search rows as of `now`, and retire the cached
    pages, which list free times. The number of rows whose next free time changed; only then
    do the counts of "free within 7 days" change."""
    ids = sorted({int(pk) for pk in specialist_ids if pk is not None})
    changed = 0
    if ids:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE directory_specialistsearch AS row SET next_free = fresh.next_free,
                    written = now()
                FROM (
                    SELECT s.id, ({next_free}) AS next_free
                    FROM directory_specialist s WHERE s.id = ANY(%(ids)s)
                ) AS fresh
                WHERE row.specialist_id = fresh.id
                    AND row.next_free IS DISTINCT FROM fresh.next_free
                """.replace("{next_free}", NEXT_FREE_SQL),
                {"ids": ids, "now": now or timezone.now()},
            )
            changed = cursor.rowcount
    bump_generation(counts=bool(changed))
    return changed


def roll(now=None) -> int:
    """Free the holds that ran out and move on every row whose next free time has passed (or
    whose slot a hold that ran out had hidden); the number of rows changed."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE directory_slot SET held_until = NULL WHERE held_until <= %(now)s "
            "RETURNING affiliation_id",
            {"now": now},
        )
        freed = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            """
            SELECT specialist_id FROM directory_affiliation WHERE id = ANY(%(freed)s)
            UNION
            SELECT specialist_id FROM directory_specialistsearch WHERE next_free <= %(now)s
            """,
            {"now": now, "freed": [pk for pk in freed if pk is not None]},
        )
        ids = [row[0] for row in cursor.fetchall()]
        # Nothing passed and no hold ran out: the pages stay as they are. A freed slot of a
        # clinic's own (no specialist) is listed again on its page.
        return refresh(ids, now) if ids or freed else 0


def upcoming(*, affiliations=None, clinic=None, now=None):
    """The next LIST_LIMIT bookable slots of these places of work (or of a clinic), soonest
    first, for a page; however far ahead, so the next free time a card shows is always
    among them. One query."""
    from directory.models import Slot

    now = now or timezone.now()
    slots = Slot.objects.public().bookable(now)
    if clinic is not None:
        slots = slots.filter(clinic=clinic)
    else:
        slots = slots.filter(affiliation__in=affiliations)
    return list(slots.select_related("location").order_by("start", "id")[:LIST_LIMIT])


@dataclass(frozen=True)
class FreeTime:
    """A free time as a clinic page lists it (read with the clinic, without a query of its
    own): when, where and with whom."""

    pk: int
    start: datetime
    location: SimpleNamespace
    who: str


def clinic_times(now=None):
    """An annotation for a Clinic queryset: its next LIST_LIMIT bookable slots, as JSON for
    `free_times()`; in the clinic's own query."""
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models import OuterRef
    from django.db.models.functions import JSONObject

    from directory.models import Slot

    now = now or timezone.now()
    slots = (
        Slot.objects.public()
        .bookable(now)
        .filter(clinic=OuterRef("pk"))
        .order_by("start", "id")
        .values(
            json=JSONObject(
                id="id",
                start="start",
                city="location__city",
                prefix="affiliation__specialist__honorific_prefix",
                given="affiliation__specialist__given_name",
                family="affiliation__specialist__family_name",
                status="affiliation__specialist__status",
            )
        )[:LIST_LIMIT]
    )
    return ArraySubquery(slots)


def free_times(rows) -> list[FreeTime]:
    """The JSON of `clinic_times()` as FreeTimes; a specialist's name only while published."""
    times = []
    for row in rows or []:
        who = ""
        if row.get("family") and row.get("status") == "published":
            who = " ".join(p for p in (row["prefix"], row["given"], row["family"]) if p)
        times.append(
            FreeTime(
                pk=row["id"],
                start=datetime.fromisoformat(row["start"]),
                location=SimpleNamespace(city=row["city"]),
                who=who,
            )
        )
    return times


def by_day(slots) -> list[tuple]:
    """Slots grouped by their day in the site's time zone: [(day, [slots])], in order."""
    days: dict = {}
    for slot in slots:
        days.setdefault(timezone.localdate(slot.start), []).append(slot)
    return list(days.items())
