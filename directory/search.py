# The SQL here is assembled from this module's constants; values always go in as parameters.
# ruff: noqa: S608
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
from django.db import connection, transaction
from django.db.models import Q

GENERATION_KEY = "search:generation"
MAX_WORDS = 8
MIN_FUZZY_LENGTH = 4
ALTERNATIVES_PER_WORD = 4
# Trigram similarity a term needs to stand in for a word: 0.4 lets "Schüsler" or "Wurschmitt"
# find the name, but keeps "leber" from matching every word that starts with it.
MIN_SIMILARITY = 0.4

# One row per published specialist. Only clinics that are published count: a specialist is not
# found by the name or city of a clinic the site does not show.
_ROWS_SQL = """
SELECT s.id,
    left(directory_fold(concat_ws(' ', s.family_name, s.given_name)), 200),
    setweight(to_tsvector('simple', directory_fold(concat_ws(' ', s.given_name, s.family_name))), 'A')
    || setweight(to_tsvector('simple', directory_fold(coalesce(loc.clinics, ''))), 'B')
    || setweight(to_tsvector('simple', directory_fold(coalesce(loc.places, ''))), 'D'),
    coalesce(loc.countries, '{}'), coalesce(fields.ids, '{}'), coalesce(topics.ids, '{}'),
    s.languages, s.insurance, s.accepts_new_patients
FROM directory_specialist s
LEFT JOIN LATERAL (
    SELECT string_agg(DISTINCT c.name, ' ') AS clinics,
        array_agg(DISTINCT l.country ORDER BY l.country) AS countries,
        string_agg(DISTINCT concat_ws(' ', l.city, p.name_en, p.name_de), ' ') AS places
    FROM directory_affiliation a
    JOIN directory_clinic c ON c.id = a.clinic_id AND c.status = 'published'
    JOIN directory_location l ON l.id = a.location_id
    LEFT JOIN directory_place p ON p.id = l.place_id
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
    specialty_ids, condition_ids, languages, insurance, accepts_new_patients)
"""

# Words of names and cities (from the rows just written) and of the taxonomy, for typo tolerance.
_NAME_TERMS_SQL = """
INSERT INTO directory_searchterm (word)
SELECT DISTINCT word FROM directory_specialistsearch, unnest(tsvector_to_array(names)) AS word
WHERE {where} AND length(word) >= %(min)s AND length(word) <= 100
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
WHERE length(word) >= %(min)s AND length(word) <= 100
ON CONFLICT DO NOTHING
"""

_state = threading.local()


def bump_generation() -> None:
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)


def generation() -> str:
    value = cache.get(GENERATION_KEY)
    if value is None:
        value = uuid.uuid4().hex
        cache.add(GENERATION_KEY, value, None)
        value = cache.get(GENERATION_KEY, value)
    return value


def rebuild(specialist_ids: Iterable[int]) -> None:
    """Rewrite the search rows of these specialists (deleting those no longer published)."""
    ids = sorted({int(pk) for pk in specialist_ids if pk is not None})
    if not ids:
        return
    pending = getattr(_state, "pending", None)
    if pending is not None:
        pending.update(ids)
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM directory_specialistsearch WHERE specialist_id = ANY(%(ids)s)",
            {"ids": ids},
        )
        cursor.execute(_INSERT + _ROWS_SQL + " AND s.id = ANY(%(ids)s)", {"ids": ids})
        cursor.execute(
            _NAME_TERMS_SQL.format(where="specialist_id = ANY(%(ids)s)"),
            {"ids": ids, "min": MIN_FUZZY_LENGTH},
        )
    bump_generation()


def rebuild_all() -> int:
    """Rewrite every search row and term; returns the number of rows."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM directory_specialistsearch")
        cursor.execute(_INSERT + _ROWS_SQL)
        count = cursor.rowcount
        cursor.execute(_NAME_TERMS_SQL.format(where="true"), {"min": MIN_FUZZY_LENGTH})
        cursor.execute(_TAXONOMY_TERMS_SQL, {"min": MIN_FUZZY_LENGTH})
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
class Words:
    """A query folded into words, each with the known terms most similar to it."""

    words: list[str] = field(default_factory=list)
    alternatives: list[list[str]] = field(default_factory=list)


def analyse(text: str) -> Words:
    """Fold `text` into at most MAX_WORDS words and find the closest known terms for each.
    Runs one query (none for blank text)."""
    if not text.strip():
        return Words()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.word, CASE WHEN length(t.word) < %(min)s THEN '{}'::varchar[] ELSE ARRAY(
                SELECT term.word FROM directory_searchterm term
                WHERE term.word %% t.word AND term.word <> t.word
                    AND similarity(term.word, t.word) >= %(similarity)s
                ORDER BY similarity(term.word, t.word) DESC, term.word
                LIMIT %(limit)s) END
            FROM unnest((string_to_array(directory_fold(%(text)s), ' '))[1:%(words)s])
                WITH ORDINALITY AS t(word, n)
            WHERE t.word <> ''
            ORDER BY t.n
            """,
            {
                "text": text,
                "min": MIN_FUZZY_LENGTH,
                "limit": ALTERNATIVES_PER_WORD,
                "similarity": MIN_SIMILARITY,
                "words": MAX_WORDS,
            },
        )
        rows = cursor.fetchall()
    return Words(words=[row[0] for row in rows], alternatives=[list(row[1]) for row in rows])


def _tsquery(terms: Iterable[str], *, prefix: bool, weights: str = "", joiner: str = "|"):
    suffix = (":*" if prefix else ":") + weights if (prefix or weights) else ""
    raw = f" {joiner} ".join(f"'{term}'{suffix}" for term in terms)
    return SearchQuery(raw, search_type="raw", config="simple")


def _topic_ids(model, query: SearchQuery, columns: str):
    from django.contrib.postgres.expressions import ArraySubquery
    from django.contrib.postgres.search import SearchVectorField
    from django.db.models.expressions import RawSQL

    document = RawSQL(
        f"to_tsvector('simple', directory_fold(concat_ws(' ', {columns})))",
        [],
        output_field=SearchVectorField(),
    )
    return ArraySubquery(model.objects.alias(document=document).filter(document=query).values("id"))


def _matches(terms: list[str], *, prefix: bool) -> Q:
    """Rows where one of `terms` is a word of a name or city, or of a condition or field the
    specialist is listed for."""
    from directory.models import Condition, Specialty

    query = _tsquery(terms, prefix=prefix)
    return (
        Q(names=query)
        | Q(
            condition_ids__overlap=_topic_ids(
                Condition, query, "name_en, name_de, synonyms_en, synonyms_de"
            )
        )
        | Q(specialty_ids__overlap=_topic_ids(Specialty, query, "name_en, name_de"))
    )


def text_filters(words: Words) -> tuple[Q, Q, Q]:
    """(match, exact, name) conditions for the rows. `match` keeps a row; `name` (every word
    begins a word of the specialist's or a clinic's name) and `exact` (every word begins a word
    of a name, city, condition or field) rank it; the rest were found through a similar term."""
    match, exact = Q(), Q()
    for word, alternatives in zip(words.words, words.alternatives, strict=True):
        word_exact = _matches([word], prefix=True)
        exact &= word_exact
        match &= word_exact | _matches(alternatives, prefix=False) if alternatives else word_exact
    name = Q(names=_tsquery(words.words, prefix=True, weights="AB", joiner="&"))
    return match, exact, name
