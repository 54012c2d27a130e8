"""The search index: one flat, folded row per published specialist (SpecialistSearch), kept up
to date whenever a listing changes, and the text matching that reads it.

Folding is done in PostgreSQL by `directory_fold()` (migration 0004), the SQL twin of
directory.places.fold: case, accents, umlauts and their spellings, and ß never matter.

A change to a listing calls `rebuild()` for the specialists it touches (directory/signals.py).
Bulk work (imports) collects the IDs inside `deferred()` and rebuilds once; seeding rebuilds all.
Every rebuild moves the search generation on, which retires cached counts (directory.facets).
"""

import threading
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery
from django.core.cache import cache
from django.db import connection, connections, transaction
from django.db.models import Q

from core.routers import PRIMARY, read_alias

# Cached results carry a generation in their keys; a new one retires them all. Counts (and the
# taxonomy) move on when search rows or the taxonomy change; cards move on with any change to a
# listing, since a card shows more than the search row holds.
GENERATION_KEY = "search:generation"
CARDS_GENERATION_KEY = "search:cards"
# How long counts and other cached results of a generation are kept at most.
CACHE_SECONDS = 15 * 60
# What was read from a replica is kept only this long: the replica may not yet have a change
# that has already started a new generation.
REPLICA_CACHE_SECONDS = 60
MAX_WORDS = 8
MIN_FUZZY_LENGTH = 4
ALTERNATIVES_PER_WORD = 4
# Trigram similarity a term needs to stand in for a word: 0.4 lets "Schüsler" or "Wurschmitt"
# find the name, but keeps "leber" from matching every word that starts with it.
MIN_SIMILARITY = 0.4
# Terms within this of the most similar one stand in for the word too.
SIMILARITY_TIE = 0.05

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
    s.languages, s.insurance, s.accepts_new_patients,
    coalesce(loc.points, '{}'), loc.bounds
FROM directory_specialist s
LEFT JOIN LATERAL (
    SELECT string_agg(DISTINCT c.name, ' ') AS clinics,
        array_agg(DISTINCT l.country ORDER BY l.country) AS countries,
        string_agg(DISTINCT concat_ws(' ', l.city, p.name_en, p.name_de), ' ') AS places,
        array_agg(e.point ORDER BY a.is_primary DESC, a.id)
            FILTER (WHERE e.point IS NOT NULL) AS points,
        CASE WHEN count(e.point) > 0 THEN cube(
            ARRAY[min(cube_ll_coord(e.point, 1)), min(cube_ll_coord(e.point, 2)),
                min(cube_ll_coord(e.point, 3))],
            ARRAY[max(cube_ll_coord(e.point, 1)), max(cube_ll_coord(e.point, 2)),
                max(cube_ll_coord(e.point, 3))]) END AS bounds
    FROM directory_affiliation a
    JOIN directory_clinic c ON c.id = a.clinic_id AND c.status = 'published'
    JOIN directory_location l ON l.id = a.location_id
    LEFT JOIN directory_place p ON p.id = l.place_id
    CROSS JOIN LATERAL (SELECT ll_to_earth(l.latitude, l.longitude)::cube AS point) AS e
    WHERE a.specialist_id = s.id
) loc ON true
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
    SELECT array_agg(sc.condition_id ORDER BY sc.condition_id) AS ids
    FROM directory_specialistcondition sc WHERE sc.specialist_id = s.id
) topics ON true
WHERE s.status = 'published'
"""

_INSERT = """
INSERT INTO directory_specialistsearch (specialist_id, sort_name, names, countries,
    specialty_ids, condition_ids, languages, insurance, accepts_new_patients, points, bounds)
"""

# Words of names and cities (from the rows just written) and of the taxonomy, for typo tolerance.
_NAME_TERMS_SQL = """
INSERT INTO directory_searchterm (word)
SELECT DISTINCT word FROM directory_specialistsearch, unnest(tsvector_to_array(names)) AS word
WHERE {where} AND length(word) BETWEEN %(min)s AND 100 AND word !~ '[0-9]'
ON CONFLICT DO NOTHING
"""
_TAXONOMY_TERMS_SQL = """
INSERT INTO directory_searchterm (word)
SELECT DISTINCT word FROM (
    SELECT directory_fold(concat_ws(' ', name_en, name_de, synonyms_en, synonyms_de)) AS text
    FROM directory_condition
    UNION ALL
    SELECT directory_fold(concat_ws(' ', name_en, name_de)) FROM directory_specialty
) AS taxonomy, regexp_split_to_table(text, ' ') AS word
WHERE length(word) BETWEEN %(min)s AND 100 AND word !~ '[0-9]'
ON CONFLICT DO NOTHING
"""

_state = threading.local()


def cache_seconds() -> int:
    """How long to cache what this request read: a generation's lifetime from the primary, a
    minute from a replica."""
    return CACHE_SECONDS if read_alias() == PRIMARY else REPLICA_CACHE_SECONDS


def bump_generation(*, counts: bool = True) -> None:
    """Start new generations now and again when the transaction commits, so no request can
    cache what it read before the commit under the new generation."""

    def bump():
        keys = [CARDS_GENERATION_KEY, *([GENERATION_KEY] if counts else [])]
        cache.set_many({key: uuid.uuid4().hex for key in keys}, None)

    bump()
    transaction.on_commit(bump)


def generation(key: str = GENERATION_KEY) -> str:
    value = cache.get(key)
    if value is None:
        value = uuid.uuid4().hex
        cache.add(key, value, None)
        value = cache.get(key, value)
    return value


_FINGERPRINT_SQL = """
SELECT md5(coalesce(string_agg(row::text, ',' ORDER BY specialist_id), ''))
FROM directory_specialistsearch AS row WHERE specialist_id = ANY(%(ids)s)
"""


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
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_FINGERPRINT_SQL, {"ids": ids})
        before = cursor.fetchone()[0]
        cursor.execute(
            "DELETE FROM directory_specialistsearch WHERE specialist_id = ANY(%(ids)s)",
            {"ids": ids},
        )
        cursor.execute(_INSERT + _ROWS_SQL + " AND s.id = ANY(%(ids)s)", {"ids": ids})
        cursor.execute(
            _NAME_TERMS_SQL.format(where="specialist_id = ANY(%(ids)s)"),
            {"ids": ids, "min": MIN_FUZZY_LENGTH},
        )
        cursor.execute(_FINGERPRINT_SQL, {"ids": ids})
        changed = cursor.fetchone()[0] != before
    # A change that leaves the rows as they were (a biography, say) keeps the counts.
    bump_generation(counts=changed)


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
        cursor.execute(_INSERT + _ROWS_SQL)
        count = cursor.rowcount
        with connection.schema_editor(atomic=False) as editor:
            for index in indexes:
                editor.add_index(SpecialistSearch, index)
        cursor.execute(_NAME_TERMS_SQL.format(where="true"), {"min": MIN_FUZZY_LENGTH})
        cursor.execute(_TAXONOMY_TERMS_SQL, {"min": MIN_FUZZY_LENGTH})
        cursor.execute("ANALYZE directory_specialistsearch, directory_searchterm")
    bump_generation()
    return count


def add_taxonomy_terms() -> None:
    with connection.cursor() as cursor:
        cursor.execute(_TAXONOMY_TERMS_SQL, {"min": MIN_FUZZY_LENGTH})
    bump_generation()


@contextmanager
def deferred():
    """Collect the rebuilds requested inside the block and run them once at its end."""
    if getattr(_state, "pending", None) is not None:
        yield
        return
    _state.pending = set()
    try:
        yield
        ids = _state.pending
    finally:
        _state.pending = None
    rebuild(ids)


# --- Matching -------------------------------------------------------------------------------


@dataclass
class Word:
    """One folded word of a query, with what it matches in the taxonomy and the known terms
    most similar to it (and what those match)."""

    text: str
    conditions: list[int] = field(default_factory=list)
    fields: list[int] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)
    similar_conditions: list[int] = field(default_factory=list)
    similar_fields: list[int] = field(default_factory=list)


@dataclass
class Words:
    words: list[Word] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.words)

    @property
    def names_only(self) -> bool:
        """True when no word matches a condition or field, only names and cities."""
        return not any(w.conditions or w.fields for w in self.words)

    @property
    def has_alternatives(self) -> bool:
        """False when every word is known: then nothing is found through a similar term."""
        return any(w.alternatives or w.similar_conditions or w.similar_fields for w in self.words)

    @property
    def similar_names_only(self) -> bool:
        return not any(w.similar_conditions or w.similar_fields for w in self.words)


_ANALYSE_SQL = """
WITH words AS MATERIALIZED (
    -- A word that begins a known term (the first term from it on, in byte order) is no typo.
    SELECT t.word, t.n, CASE WHEN length(t.word) < %(min)s OR starts_with((
        SELECT min(term.word) FROM directory_searchterm term WHERE term.word >= t.word
    ), t.word) THEN '{}'::varchar[] ELSE ARRAY(
        -- The most similar terms: the best and those nearly as similar.
        SELECT word FROM (
            SELECT term.word, similarity(term.word, t.word) AS score,
                max(similarity(term.word, t.word)) OVER () AS best
            FROM directory_searchterm term
            WHERE term.word %% t.word AND term.word <> t.word
                AND similarity(term.word, t.word) >= %(similarity)s
        ) AS candidates
        WHERE score >= best - %(tie)s
        ORDER BY score DESC, word
        LIMIT %(limit)s) END AS alternatives
    FROM unnest((string_to_array(directory_fold(%(text)s), ' '))[1:%(words)s])
        WITH ORDINALITY AS t(word, n)
    WHERE t.word <> ''
),
queries AS MATERIALIZED (
    SELECT word, n, alternatives, to_tsquery('simple', quote_literal(word) || ':*') AS exact,
        CASE WHEN cardinality(alternatives) > 0 THEN to_tsquery('simple', array_to_string(
            ARRAY(SELECT quote_literal(a) FROM unnest(alternatives) AS a), ' | ')) END AS similar
    FROM words
),
conditions AS MATERIALIZED (
    SELECT id, to_tsvector('simple', directory_fold(
        concat_ws(' ', name_en, name_de, synonyms_en, synonyms_de))) AS document
    FROM directory_condition
),
fields AS MATERIALIZED (
    SELECT id, to_tsvector('simple', directory_fold(concat_ws(' ', name_en, name_de))) AS document
    FROM directory_specialty
)
SELECT q.word,
    ARRAY(SELECT id FROM conditions WHERE document @@ q.exact ORDER BY id),
    ARRAY(SELECT id FROM fields WHERE document @@ q.exact ORDER BY id),
    q.alternatives,
    ARRAY(SELECT id FROM conditions WHERE document @@ q.similar ORDER BY id),
    ARRAY(SELECT id FROM fields WHERE document @@ q.similar ORDER BY id)
FROM queries q
ORDER BY q.n
"""


def analyse(text: str) -> Words:
    """Fold `text` into at most MAX_WORDS words; find the conditions and medical fields each
    begins a word of, and, for a word that begins no known term, the closest known terms.
    Runs one query (none for blank text). The taxonomy is small, so it is matched here and the
    rows only by ID."""
    if not text.strip():
        return Words()
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(
            _ANALYSE_SQL,
            {
                "text": text,
                "min": MIN_FUZZY_LENGTH,
                "limit": ALTERNATIVES_PER_WORD,
                "similarity": MIN_SIMILARITY,
                "tie": SIMILARITY_TIE,
                "words": MAX_WORDS,
            },
        )
        return Words([Word(row[0], *(list(column) for column in row[1:])) for row in cursor])


def _tsquery(terms: Iterable[str], *, prefix: bool, weights: str = "", joiner: str = "|"):
    suffix = (":*" if prefix else ":") + weights if (prefix or weights) else ""
    raw = f" {joiner} ".join(f"'{term}'{suffix}" for term in terms)
    return SearchQuery(raw, search_type="raw", config="simple")


def _matches(terms: list[str], conditions: list[int], fields: list[int], *, prefix: bool) -> Q:
    """Rows where one of `terms` is (or begins) a word of a name or city, or that are listed
    for one of these conditions or fields."""
    match = Q(names=_tsquery(terms, prefix=prefix)) if terms else Q(pk__in=[])
    if conditions:
        match |= Q(condition_ids__overlap=conditions)
    if fields:
        match |= Q(specialty_ids__overlap=fields)
    return match


def text_filters(words: Words) -> tuple[Q, Q, Q]:
    """(match, exact, name) conditions for the rows. `match` keeps a row; `name` (every word
    begins a word of the specialist's or a clinic's name) and `exact` (every word begins a word
    of a name, city, condition or field) rank it; the rest were found through a similar term."""
    match, exact = Q(), Q()
    for word in words.words:
        word_exact = _matches([word.text], word.conditions, word.fields, prefix=True)
        exact &= word_exact
        similar = _matches(
            word.alternatives, word.similar_conditions, word.similar_fields, prefix=False
        )
        match &= word_exact | similar
    name = Q(names=_tsquery([w.text for w in words.words], prefix=True, weights="AB", joiner="&"))
    return match, exact, name
