"""The search index: one flat, folded row per published specialist (SpecialistSearch), kept up
to date whenever a listing changes, and the vocabulary of known words (SearchTerm).

Folding is done in PostgreSQL by `directory_fold()` (migration 0004), the SQL twin of
directory.places.fold: case, accents, umlauts and their spellings, and ß never matter.

A change to a listing calls `rebuild()` for the specialists it touches (directory/signals.py).
Bulk work (imports) collects the IDs inside `deferred()` and rebuilds once; seeding rebuilds all.
Every rebuild moves the search generation on (directory.search.keys), which makes cached counts
stale.
"""

import threading
from collections.abc import Iterable
from contextlib import contextmanager

from django.db import connection, transaction

from core import languages
from directory.search.keys import bump_generation

MIN_FUZZY_LENGTH = 4

# The first free slot of a specialist's places of work at published clinics that no booking
# holds or has taken (directory.slots.availability keeps it current between rewrites).
NEXT_FREE_SQL = """
    SELECT min(sl.start)
    FROM directory_affiliation a
    JOIN directory_clinic c ON c.id = a.clinic_id AND c.status = 'published'
    JOIN directory_slot sl ON sl.affiliation_id = a.id
    WHERE a.specialist_id = s.id AND sl.start > %(now)s AND NOT sl.booked
        AND (sl.held_until IS NULL OR sl.held_until <= %(now)s)
"""

# One row per published specialist. Only clinics that are published count: a specialist is not
# found by the name or city of a clinic the site does not show.
_ROWS_SQL = """
SELECT s.id,
    left(directory_fold(concat_ws(' ', s.family_name, s.given_name)), 200),
    setweight(to_tsvector('simple',
        directory_fold(concat_ws(' ', s.given_name, s.family_name))), 'A')
    || setweight(to_tsvector('simple', directory_fold(coalesce(loc.clinics, ''))), 'B')
    || setweight(to_tsvector('simple', directory_fold(coalesce(loc.places, ''))), 'D'),
    coalesce(loc.countries, '{}'), coalesce(fields.ids, '{}'), coalesce(topics.ids, '{}'),
    topics.ids[1], coalesce(topics.ids[1:3], '{}'),
    coalesce(directory_phonetic_codes(concat_ws(' ', s.given_name, s.family_name)), '{}'),
    -- The facts the filters use count only while confirmed recently enough.
    CASE WHEN s.languages_confirmed_on >= %(cutoff)s::date THEN s.languages ELSE '{}' END,
    CASE WHEN s.insurance_confirmed_on >= %(cutoff)s::date THEN s.insurance ELSE '{}' END,
    s.accepts_new_patients AND s.new_patients_confirmed_on >= %(cutoff)s::date,
    coalesce(loc.points, '{}'), loc.bounds,
    hrs.open_minutes, hrs.closed_days, coalesce(hrs.holiday_region, ''),
    coalesce(hrs.features, '{}'), coalesce(loc.services, '{}'),
    CASE WHEN cert.held THEN cert.ids ELSE '{}' END,
    ({next_free})
FROM directory_specialist s
LEFT JOIN LATERAL (
    SELECT string_agg(DISTINCT c.name, ' ') AS clinics,
        array_agg(DISTINCT l.country ORDER BY l.country) AS countries,
        string_agg(DISTINCT concat_ws(' ', l.city, p.name_en, p.name_de, p.name_fr, p.name_it,
            town.name_en, town.name_de, town.name_fr, town.name_it), ' ') AS places,
        array_agg(e.point ORDER BY a.is_primary DESC, a.id)
            FILTER (WHERE e.point IS NOT NULL) AS points,
        CASE WHEN count(e.point) > 0 THEN cube(
            ARRAY[min(cube_ll_coord(e.point, 1)), min(cube_ll_coord(e.point, 2)),
                min(cube_ll_coord(e.point, 3))],
            ARRAY[max(cube_ll_coord(e.point, 1)), max(cube_ll_coord(e.point, 2)),
                max(cube_ll_coord(e.point, 3))]) END AS bounds,
        -- Video consultations and home visits, where confirmed recently enough.
        array_remove(ARRAY[
            CASE WHEN bool_or(a.video_consultation AND a.services_confirmed_on
                >= %(cutoff)s::date) THEN 'video' END,
            CASE WHEN bool_or(a.home_visits AND a.services_confirmed_on
                >= %(cutoff)s::date) THEN 'home_visits' END
        ], NULL) AS services
    FROM directory_affiliation a
    JOIN directory_clinic c ON c.id = a.clinic_id AND c.status = 'published'
    JOIN directory_location l ON l.id = a.location_id
    LEFT JOIN directory_place p ON p.id = l.place_id
    LEFT JOIN directory_place town ON town.id = p.parent_id  -- a district's city
    CROSS JOIN LATERAL (SELECT ll_to_earth(l.latitude, l.longitude)::cube AS point) AS e
    WHERE a.specialist_id = s.id
) loc ON true
LEFT JOIN LATERAL (
    -- The first place of work at a published clinic, as the card shows it.
    SELECT CASE WHEN l.hours_confirmed_on >= %(cutoff)s::date THEN l.open_minutes END
            AS open_minutes,
        l.holiday_region,
        (SELECT range_agg(daterange(cl.first_day, cl.last_day, '[]'))
         FROM directory_closure cl
         WHERE cl.location_id = l.id AND cl.last_day >= %(today)s::date) AS closed_days,
        -- Its accessibility facts that it has and that were confirmed recently enough.
        (SELECT array_agg(f.feature ORDER BY f.feature)
         FROM directory_locationfeature f
         WHERE f.location_id = l.id AND f.present
            AND f.confirmed_on >= %(cutoff)s::date) AS features
    FROM directory_affiliation a
    JOIN directory_clinic c ON c.id = a.clinic_id AND c.status = 'published'
    JOIN directory_location l ON l.id = a.location_id
    WHERE a.specialist_id = s.id
    ORDER BY a.is_primary DESC, a.id
    LIMIT 1
) hrs ON true
LEFT JOIN LATERAL (
    -- The certifications in force of the published clinics (or of the hospital a department
    -- belongs to): 0 for any, and the conditions they cover.
    SELECT count(t.id) > 0 AS held,
        ARRAY[0] || coalesce(array_agg(DISTINCT tc.condition_id ORDER BY tc.condition_id)
            FILTER (WHERE tc.condition_id IS NOT NULL), '{}') AS ids
    FROM directory_affiliation a
    JOIN directory_clinic c ON c.id = a.clinic_id AND c.status = 'published'
    LEFT JOIN directory_clinic hospital ON hospital.id = c.parent_id
        AND hospital.status = 'published'
    JOIN directory_certification t ON t.clinic_id IN (c.id, hospital.id)
        AND (t.valid_until IS NULL OR t.valid_until >= %(today)s::date)
        AND t.confirmed_on >= %(cutoff)s::date
    LEFT JOIN directory_certification_conditions tc ON tc.certification_id = t.id
    WHERE a.specialist_id = s.id
) cert ON true
LEFT JOIN LATERAL (
    WITH RECURSIVE tree(id, parent_id) AS (
        SELECT t.id, t.parent_id
        FROM directory_specialist_specialties ss
        JOIN directory_specialty t ON t.id = ss.specialty_id
        WHERE ss.specialist_id = s.id
        UNION
        SELECT t.id, t.parent_id FROM directory_specialty t JOIN tree ON t.id = tree.parent_id
    )
    SELECT array_agg(DISTINCT id ORDER BY id) AS ids FROM tree
) fields ON true
LEFT JOIN LATERAL (
    SELECT array_agg(sc.condition_id ORDER BY sc.position, sc.id) AS ids
    FROM directory_specialistcondition sc WHERE sc.specialist_id = s.id
) topics ON true
WHERE s.status = 'published'
""".replace("{next_free}", NEXT_FREE_SQL)

_INSERT = """
INSERT INTO directory_specialistsearch (specialist_id, sort_name, names, countries,
    specialty_ids, condition_ids, first_focus, top_focus, sounds, languages, insurance,
    accepts_new_patients, points, bounds, open_minutes, closed_days, holiday_region, features,
    services, certified, next_free)
"""

# Words of names and cities (from the rows just written) and of the taxonomy, for typo tolerance.
_NAME_TERMS_SQL = """
INSERT INTO directory_searchterm (word)
SELECT DISTINCT word FROM directory_specialistsearch, unnest(tsvector_to_array(names)) AS word
WHERE {where} AND length(word) BETWEEN %(min)s AND 100 AND word !~ '[0-9]'
ON CONFLICT DO NOTHING
"""


def _taxonomy_terms_sql() -> str:
    """The words of every name and synonym of the public taxonomy, in every language."""
    names = ", ".join(languages.columns("name", "synonyms"))
    return """
INSERT INTO directory_searchterm (word)
SELECT DISTINCT word FROM (
    SELECT directory_fold(concat_ws(' ', {names})) AS text
    FROM directory_condition WHERE NOT needs_review
    UNION ALL
    SELECT directory_fold(concat_ws(' ', {names}))
    FROM directory_specialty WHERE NOT needs_review
) AS taxonomy, regexp_split_to_table(text, ' ') AS word
WHERE length(word) BETWEEN %(min)s AND 100 AND word !~ '[0-9]'
ON CONFLICT DO NOTHING
""".replace("{names}", names)


_state = threading.local()


# What the search sees of the rows (not when they were written), to tell whether a rebuild
# changed the counts.
_FINGERPRINT_SQL = """
SELECT md5(coalesce(string_agg((to_jsonb(row) - 'written')::text, ',' ORDER BY specialist_id), ''))
FROM directory_specialistsearch AS row WHERE specialist_id = ANY(%(ids)s)
"""


def _facts() -> dict:
    """The parameters of the rows' facts, in the site's time zone (not the database
    session's): now, today, and the day before which a fact no longer counts."""
    from django.utils import timezone

    from directory.models import fact_cutoff

    return {"today": timezone.localdate(), "cutoff": fact_cutoff(), "now": timezone.now()}


def expiring(within_days: int = 7) -> list[int]:
    """The specialists whose rows count a fact that has reached its age, or a certification
    that ran out, in the last `within_days` days: `manage.py refresh_facts` rewrites them each
    day."""
    from datetime import timedelta

    facts = _facts()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.specialist_id
            FROM directory_locationfeature f
            JOIN directory_affiliation a ON a.location_id = f.location_id
            WHERE f.confirmed_on < %(cutoff)s AND f.confirmed_on >= %(since)s
            UNION
            SELECT a.specialist_id
            FROM directory_affiliation a
            WHERE (a.video_consultation OR a.home_visits)
              AND a.services_confirmed_on < %(cutoff)s AND a.services_confirmed_on >= %(since)s
            UNION
            SELECT a.specialist_id
            FROM directory_affiliation a
            JOIN directory_location l ON l.id = a.location_id
            WHERE l.hours_confirmed_on < %(cutoff)s AND l.hours_confirmed_on >= %(since)s
            UNION
            SELECT s.id
            FROM directory_specialist s
            WHERE (s.languages_confirmed_on < %(cutoff)s AND s.languages_confirmed_on >= %(since)s)
              OR (s.insurance_confirmed_on < %(cutoff)s AND s.insurance_confirmed_on >= %(since)s)
              OR (s.new_patients_confirmed_on < %(cutoff)s
                  AND s.new_patients_confirmed_on >= %(since)s)
            UNION
            SELECT a.specialist_id
            FROM directory_certification t
            JOIN directory_clinic c ON t.clinic_id IN (c.id, c.parent_id)
            JOIN directory_affiliation a ON a.clinic_id = c.id
            WHERE (t.confirmed_on < %(cutoff)s AND t.confirmed_on >= %(since)s)
              OR (t.valid_until < %(today)s AND t.valid_until >= %(today)s - %(days)s)
            """,
            {
                **facts,
                "since": facts["cutoff"] - timedelta(days=within_days),
                "days": within_days,
            },
        )
        return [row[0] for row in cursor.fetchall()]


def forget(specialist_id: int) -> None:
    """Leave this specialist out of rebuilds while it is being deleted (its row goes with it):
    from just before the deletion (pre_delete) to just after it (remember, on post_delete)."""
    if getattr(_state, "forgotten", None) is None:
        _state.forgotten = set()
    _state.forgotten.add(specialist_id)


def remember(specialist_id: int) -> None:
    getattr(_state, "forgotten", set()).discard(specialist_id)


def rebuild(specialist_ids: Iterable[int]) -> None:
    """Rewrite the search rows of these specialists (deleting those no longer published)."""
    forgotten = getattr(_state, "forgotten", None) or set()
    ids = sorted({int(pk) for pk in specialist_ids if pk is not None} - forgotten)
    if not ids:
        return
    pending = getattr(_state, "pending", None)
    if pending is not None:
        pending.update(ids)
        return
    # A change that leaves the rows as they were (a biography, say) keeps the counts.
    bump_generation(counts=_rewrite(ids))


def _rewrite(ids: list[int]) -> bool:
    """Rewrite these search rows; whether what the search sees of them changed."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_FINGERPRINT_SQL, {"ids": ids})
        before = cursor.fetchone()[0]
        cursor.execute(
            "DELETE FROM directory_specialistsearch WHERE specialist_id = ANY(%(ids)s)",
            {"ids": ids},
        )
        cursor.execute(_INSERT + _ROWS_SQL + " AND s.id = ANY(%(ids)s)", {"ids": ids, **_facts()})
        cursor.execute(
            _NAME_TERMS_SQL.format(where="specialist_id = ANY(%(ids)s)"),
            {"ids": ids, "min": MIN_FUZZY_LENGTH},
        )
        cursor.execute(_FINGERPRINT_SQL, {"ids": ids})
        return cursor.fetchone()[0] != before


def rebuild_all() -> int:
    """Rewrite every search row and term; returns the number of rows.

    The indexes are dropped first and built again afterwards, which is several times faster
    than updating them row by row; the table is locked meanwhile (a minute at 520,000 rows)."""
    from directory.models import SpecialistSearch

    indexes = SpecialistSearch._meta.indexes
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE directory_specialistsearch IN ACCESS EXCLUSIVE MODE")
        # Check the foreign key as rows go in, so no deferred check blocks CREATE INDEX.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        with connection.schema_editor(atomic=False) as editor:
            for index in indexes:
                editor.remove_index(SpecialistSearch, index)
        cursor.execute("TRUNCATE directory_specialistsearch")
        cursor.execute(_INSERT + _ROWS_SQL, _facts())
        count = cursor.rowcount
        with connection.schema_editor(atomic=False) as editor:
            for index in indexes:
                editor.add_index(SpecialistSearch, index)
        cursor.execute(_NAME_TERMS_SQL.format(where="true"), {"min": MIN_FUZZY_LENGTH})
        cursor.execute(_taxonomy_terms_sql(), {"min": MIN_FUZZY_LENGTH})
        cursor.execute("ANALYZE directory_specialistsearch, directory_searchterm")
    bump_generation(taxonomy=True)
    return count


def add_taxonomy_terms() -> None:
    with connection.cursor() as cursor:
        cursor.execute(_taxonomy_terms_sql(), {"min": MIN_FUZZY_LENGTH})
    bump_generation(taxonomy=True)


@contextmanager
def deferred():
    """Collect the rebuilds requested inside the block and run them once at its end (and at
    each flush() within it), starting new generations once."""
    if getattr(_state, "pending", None) is not None:
        yield
        return
    _state.pending = set()
    _state.changed = None  # None: nothing rewritten yet; else whether the counts changed
    try:
        yield
        flush()
        changed = _state.changed
    finally:
        _state.pending = None
    if changed is not None:
        bump_generation(counts=changed)


def flush(at_least: int = 1) -> None:
    """Inside deferred(): run the rebuilds collected so far now, if there are `at_least` of
    them (a long import does so as it goes, so what it has to remember does not grow with
    it)."""
    pending = getattr(_state, "pending", None)
    if not pending or len(pending) < at_least:
        return
    forgotten = getattr(_state, "forgotten", None) or set()
    ids = sorted(pending - forgotten)
    pending.clear()
    if ids:
        _state.changed = bool(_state.changed) | _rewrite(ids)
