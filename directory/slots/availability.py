"""The next free time of each specialist, as the search rows carry it (SpecialistSearch.next_free),
and the free times a profile or clinic page lists.

A row's next free time changes when slots come or go (sync_slots, weekly templates), when a
booking holds, takes or frees one (appointments), and when time passes it. The first two call
`refresh()` for the specialists they touch; `roll()`, run by sync_slots every few minutes,
frees the holds that ran out and moves on the rows whose next free time has passed.
"""

from collections.abc import Iterable
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from directory.search.index import NEXT_FREE_SQL
from directory.search.keys import bump_generation

# How far ahead a profile lists free times, and how many.
LIST_DAYS = 28
LIST_LIMIT = 12


def refresh(specialist_ids: Iterable[int], now=None) -> int:
    """Recompute the next free time on these specialists' search rows as of `now`; the number
    of rows it changed. A change rewrites the cards (their cache keys name the row's
    `written`) and the counts of "free within 7 days"."""
    ids = sorted({int(pk) for pk in specialist_ids if pk is not None})
    if not ids:
        return 0
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
    if changed:
        bump_generation(counts=True)
    return changed


def roll(now=None) -> int:
    """Free the holds that ran out and move on every row whose next free time has passed (or
    whose slot a hold that ran out had hidden); the number of rows changed."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            WITH freed AS (
                UPDATE directory_slot SET held_until = NULL
                WHERE held_until <= %(now)s RETURNING affiliation_id
            )
            SELECT a.specialist_id FROM freed JOIN directory_affiliation a
                ON a.id = freed.affiliation_id
            UNION
            SELECT specialist_id FROM directory_specialistsearch WHERE next_free <= %(now)s
            """,
            {"now": now},
        )
        ids = [row[0] for row in cursor.fetchall()]
        return refresh(ids, now)


def upcoming(*, affiliations=None, clinic=None, now=None, days: int = LIST_DAYS):
    """The bookable slots of these places of work (or of a clinic), soonest first, for a page:
    at most LIST_LIMIT within `days`. One query."""
    from directory.models import Slot

    now = now or timezone.now()
    slots = Slot.objects.bookable(now).filter(start__lt=now + timedelta(days=days))
    if clinic is not None:
        slots = slots.filter(clinic=clinic)
    else:
        slots = slots.filter(affiliation__in=affiliations)
    return list(slots.select_related("location").order_by("start", "id")[:LIST_LIMIT])
