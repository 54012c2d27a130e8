"""Understanding the text a patient types (`q`): folded words, and what each matches in the
taxonomy and the vocabulary of known words (typo tolerance)."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery
from django.db import connections
from django.db.models import Q

from core.routers import read_alias
from directory.search.index import MIN_FUZZY_LENGTH

MAX_WORDS = 8
ALTERNATIVES_PER_WORD = 4
# Trigram similarity a term needs to stand in for a word: 0.4 lets "Schüsler" or "Wurschmitt"
# find the name, but keeps "leber" from matching every word that starts with it.
MIN_SIMILARITY = 0.4
# Terms within this of the most similar one stand in for the word too.
SIMILARITY_TIE = 0.05


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
