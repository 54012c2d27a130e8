"""Understanding the text a patient types (`q`), once per search generation and query.

The words are folded and read left to right:

- a postcode ("10115", "1030 Wien", "CH-3011") and a place that follows a preposition ("in
  Bern", "near Graz", "près de Lausanne", "vicino a Bellinzona", "au Locle") or stands beside a
  medical word ("Kardiologe Hamburg-Altona", "cardiologue Genf") become the place the search is
  around; the page says so and offers to drop it;
- titles and filler words ("Dr. med. univ.", "in der Nähe", "near me", "Facharzt für", "Dre",
  "dott.ssa", "près de chez moi", "vicino a me") and elided articles ("l'oculiste", "d'un
  cardiologue", "dell'occhio") are never required to match;
- phrases and words of the vocabulary ("heart specialist", "Augenärztin", "Krebs", "métastases du
  foie", "oculisti") stand for their medical fields and conditions (directory.search.vocabulary);
- every other word must begin a word of a specialist's or clinic's name or city; a word that
  begins no known term at all is taken for a typo: the most similar known terms stand in for it,
  and names that sound alike (Kölner Phonetik) count too.
"""

import re
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery
from django.db import connections
from django.db.models import Q

from core.routers import read_alias
from directory import phonetics
from directory.places import fold
from directory.search import geo
from directory.search.index import MIN_FUZZY_LENGTH
from directory.search.vocabulary import (
    ARTICLES,
    CONTRACTED_ARTICLES,
    ELISIONS,
    FILLER_PHRASES,
    FILLERS,
    PLACE_PREPOSITIONS,
    TITLES,
    Concept,
    Vocabulary,
)

MAX_WORDS = 8
ALTERNATIVES_PER_WORD = 4
# Trigram similarity a term needs to stand in for a word: 0.4 lets "Schüsler" or "Wurschmitt"
# find the name, but keeps "leber" from matching every word that starts with it.
MIN_SIMILARITY = 0.4
# Terms within this of the most similar one stand in for the word too.
SIMILARITY_TIE = 0.05
# Letters that say which country a postcode is in ("D-80331", "CH-8001", "A-1010").
POSTCODE_COUNTRIES = {"d": "DE", "de": "DE", "a": "AT", "at": "AT", "ch": "CH"}
MAX_PLACE_WORDS = 4
LONGEST_FILLER_PHRASE = max(len(phrase) for phrase in FILLER_PHRASES)
LONGEST_PREPOSITION = max(len(phrase) for phrase in PLACE_PREPOSITIONS)
# An elided word and its apostrophe, however typed: straight, typographic (U+2019, U+2018),
# modifier letter (U+02BC), grave or acute accent.
ELIDED = re.compile(r"^([^\W\d_]+)['\u2019\u2018\u02bc`\u00b4]")
# A condition no row meets (the primary key is never empty); unlike an empty IN list, it still
# compiles inside CASE expressions.
NEVER = Q(pk__isnull=True)


@dataclass
class Word:
    """A word (or phrase) of the query that the rows must match."""

    text: str  # folded; a phrase's words joined by spaces
    conditions: list[int] = field(default_factory=list)
    fields: list[int] = field(default_factory=list)
    by_name: bool = True  # may match a name or city word (a phrase of the vocabulary may not)
    alternatives: list[str] = field(default_factory=list)  # similar known terms (a typo)
    similar_conditions: list[int] = field(default_factory=list)
    similar_fields: list[int] = field(default_factory=list)
    sound: str = ""  # Kölner Phonetik code, for names heard rather than read

    @property
    def known(self) -> bool:
        return bool(self.conditions or self.fields)


@dataclass
class Understanding:
    """What the query asks for."""

    words: list[Word] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # titles and fillers, as typed (folded)
    place: geo.Resolution | None = None  # a place named in the text
    place_tokens: list[int] = field(default_factory=list)  # its raw words' positions
    raw: list[str] = field(default_factory=list)  # the query's words as typed

    def __bool__(self) -> bool:
        return bool(self.words)

    @property
    def names_only(self) -> bool:
        """True when no word matches a condition or field, only names and cities."""
        return not any(w.known for w in self.words)

    @property
    def has_alternatives(self) -> bool:
        """False when every word is known: then nothing is found through a similar word."""
        return any(
            w.alternatives or w.similar_conditions or w.similar_fields or w.sound
            for w in self.words
        )

    @property
    def similar_names_only(self) -> bool:
        return not any(w.similar_conditions or w.similar_fields for w in self.words)

    @property
    def condition_ids(self) -> list[int]:
        return sorted({pk for w in self.words for pk in w.conditions})

    @property
    def text_without_place(self) -> str:
        """The query as typed, without the words that named the place."""
        return " ".join(t for n, t in enumerate(self.raw) if n not in self.place_tokens)


@dataclass
class _Token:
    folded: str
    raw: int  # position of the raw word it comes from
    role: str = ""  # "", "title", "filler", "place", "postcode", "country", "phrase"
    elided: bool = False  # an article or preposition before an apostrophe ("l'", "dell'")


def _tokens(query: str) -> tuple[list[str], list[_Token]]:
    raw = query.split()
    tokens = []
    for position, word in enumerate(raw):
        parts = [_Token(part, position) for part in fold(word).split()]
        elided = ELIDED.match(word)
        if elided and parts[0].folded == fold(elided.group(1)) and parts[0].folded in ELISIONS:
            parts[0].elided = True
        tokens += parts
    return raw, tokens


def understand(
    query: str, vocabulary: Vocabulary, countries: list[str] | tuple = (), *, find_place=True
) -> Understanding:
    """Read the query (see the module's docstring). Runs at most two queries: places, and the
    typo alternatives; the caller caches the answer per generation."""
    raw, tokens = _tokens(query)
    result = Understanding(raw=raw)
    if not tokens:
        return result
    _mark_postcodes(tokens)
    words: list[Word] = []
    # Phrases of the vocabulary, longest first: "heart specialist", "in der nahe" is no phrase.
    for length in range(min(vocabulary.longest_term, len(tokens)), 1, -1):
        for start in range(len(tokens) - length + 1):
            window = tokens[start : start + length]
            if any(t.role for t in window):
                continue
            folded = tuple(t.folded for t in window)
            # As written, or a plural or feminine of it ("tumori al seno", "médecins de famille").
            concepts = vocabulary.phrase(folded) or vocabulary.inflected_phrase(folded)
            if concepts:
                for token in window:
                    token.role = "phrase"
                words.append(_word(" ".join(t.folded for t in window), concepts, by_name=False))
    for index, token in enumerate(tokens):
        if token.role:
            continue
        if token.elided:
            token.role = "filler"
        elif token.folded in TITLES and (
            index + 1 < len(tokens) or not vocabulary.phrase((token.folded,))
        ):
            # "Pr Rochat" is a professor; "PR" alone the polyarthrite rhumatoïde.
            token.role = "title"
    for length in range(LONGEST_FILLER_PHRASE, 1, -1):
        for start in range(len(tokens) - length + 1):
            window = tokens[start : start + length]
            if (
                not any(t.role for t in window)
                and tuple(t.folded for t in window) in FILLER_PHRASES
            ):
                for token in window:
                    token.role = "filler"
    if find_place:
        _find_place(tokens, words, vocabulary, countries, result)
    for token in tokens:
        if not token.role and token.folded in FILLERS:
            token.role = "filler"
    remaining = [t for t in tokens if not t.role]
    if not remaining and not words and not result.place:
        # Only titles and fillers ("Dr. Arzt"): read the fillers as names after all.
        remaining = [t for t in tokens if t.role == "filler"]
        for token in remaining:
            token.role = ""
    for token in remaining[:MAX_WORDS]:
        words.append(_word(token.folded, vocabulary.word(token.folded), by_name=True))
    result.dropped = [t.folded for t in tokens if t.role in {"title", "filler"}]
    _add_alternatives(words, vocabulary)
    result.words = words[:MAX_WORDS]
    return result


def _word(text: str, concepts: set[Concept], *, by_name: bool) -> Word:
    return Word(
        text=text,
        conditions=sorted(c.id for c in concepts if c.kind == "condition"),
        fields=sorted(c.id for c in concepts if c.kind == "specialty"),
        by_name=by_name,
    )


def _mark_postcodes(tokens: list[_Token]) -> None:
    for index, token in enumerate(tokens):
        if re.fullmatch(r"\d{4,5}", token.folded):
            token.role = "postcode"
            if index and tokens[index - 1].folded in POSTCODE_COUNTRIES:
                tokens[index - 1].role = "country"


def _preposition(tokens: list[_Token], start: int) -> int:
    """How many words before `start` say "around a place" ("à", "près de", "vicino a", "in der
    Nähe von"): the longest such phrase of words that are nothing else."""
    for length in range(min(LONGEST_PREPOSITION, start), 0, -1):
        window = tokens[start - length : start]
        if all(t.role in {"", "filler"} for t in window) and (
            tuple(t.folded for t in window) in PLACE_PREPOSITIONS
        ):
            return length
    return 0


def _find_place(tokens, words, vocabulary, countries, result: Understanding) -> None:
    """A postcode, or the longest run of words that names a place and either follows a
    preposition or stands beside a word of the vocabulary."""
    postcodes = [n for n, t in enumerate(tokens) if t.role == "postcode"]
    # Words of the vocabulary (phrases have been read): a place may stand beside one.
    medical = {
        n
        for n, t in enumerate(tokens)
        if not t.role and t.folded not in FILLERS and vocabulary.word(t.folded)
    }
    # name -> (first word, number of words, words of the preposition before them)
    candidates: dict[str, tuple[int, int, int]] = {}
    for start, token in enumerate(tokens):
        if token.role and token.role != "postcode":
            continue
        before = _preposition(tokens, start)
        if not (before or medical or words or postcodes):
            continue  # a place stands after a preposition or beside a medical word
        # "au Locle", "du Locle": in or from Le Locle.
        previous = tokens[start - 1] if start else None
        article = (
            CONTRACTED_ARTICLES.get(previous.folded)
            if previous and previous.role in {"", "filler"}
            else None
        )
        for length in range(1, MAX_PLACE_WORDS + 1):
            window = tokens[start : start + length]
            if len(window) < length or any(t.role and t.role != "postcode" for t in window):
                break
            if token.folded in FILLERS and not (token.folded in ARTICLES and length > 1):
                continue  # "au" is no town called Au; "La Chaux-de-Fonds" is one
            name = " ".join(t.folded for t in window)
            candidates.setdefault(name, (start, length, before))
            if article:
                candidates.setdefault(
                    f"{article} {name}", (start, length, 1 + _preposition(tokens, start - 1))
                )
    if not candidates:
        return
    if postcodes:
        first = postcodes[0]
        country = next((POSTCODE_COUNTRIES[t.folded] for t in tokens if t.role == "country"), None)
        after = tokens[first + 1 : first + 1 + MAX_PLACE_WORDS]
        name_after = " ".join(t.folded for t in after if not t.role)
        resolution = geo.resolve_postcode(
            tokens[first].folded, name=name_after, countries=[country] if country else countries
        )
        if resolution is not None:
            used = {first, *(n for n, t in enumerate(tokens) if t.role == "country")}
            if name_after and resolution.matched_name:
                used |= {first + 1 + k for k in range(len(resolution.matched_name.split()))}
            _take_place(tokens, used, resolution, result)
            return
    found = geo.places_named(list(candidates))
    for name, (start, length, before) in sorted(candidates.items(), key=lambda c: -c[1][1]):
        if name not in found:
            continue
        window = range(start, start + length)
        beside_medical = bool(words) or any(n not in window for n in medical)
        # A town's own name, though it begins or ends a medical word ("Sion", "Essen"), is the
        # town; a word of the vocabulary itself ("Stein") is not.
        is_medical = any(
            tokens[n].folded not in FILLERS and vocabulary.is_word(tokens[n].folded) for n in window
        )
        if before or (beside_medical and not is_medical and not postcodes):
            resolution = geo.choose(found[name], countries, typed=name)
            used = set(range(start - before, start + length))
            _take_place(tokens, used, resolution, result)
            return


def _take_place(tokens, used: set[int], resolution, result: Understanding) -> None:
    for index in used:
        tokens[index].role = "place"
    result.place = resolution
    result.place_tokens = sorted({tokens[index].raw for index in used})


_ALTERNATIVES_SQL = """
SELECT t.word, known, CASE WHEN known THEN '{}'::varchar[] ELSE ARRAY(
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
    LIMIT %(limit)s) END
FROM unnest(%(words)s::text[]) AS t(word)
-- A word that begins a known term (the first term from it on, in byte order) is no typo.
CROSS JOIN LATERAL (SELECT starts_with((
    SELECT min(term.word) FROM directory_searchterm term WHERE term.word >= t.word
), t.word) AS known) AS k
"""


def _add_alternatives(words: list[Word], vocabulary: Vocabulary) -> None:
    """For each name word that begins no known term: the most similar known terms, what they
    stand for, and how the word sounds. One query."""
    candidates = [w for w in words if w.by_name and not w.known and len(w.text) >= MIN_FUZZY_LENGTH]
    if not candidates:
        return
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(
            _ALTERNATIVES_SQL,
            {
                "words": [w.text for w in candidates],
                "min": MIN_FUZZY_LENGTH,
                "limit": ALTERNATIVES_PER_WORD,
                "similarity": MIN_SIMILARITY,
                "tie": SIMILARITY_TIE,
            },
        )
        rows = {word: (known, alternatives) for word, known, alternatives in cursor.fetchall()}
    for word in candidates:
        known, alternatives = rows.get(word.text, (True, []))
        word.alternatives = list(alternatives or [])
        similar = set()
        for alternative in word.alternatives:
            similar |= vocabulary.concepts_of_word.get(alternative, set())
        word.similar_conditions = sorted(c.id for c in similar if c.kind == "condition")
        word.similar_fields = sorted(c.id for c in similar if c.kind == "specialty")
        if not known:  # a name heard, not read: "Schmitt" for Schmidt
            word.sound = phonetics.cologne(word.text)


def _tsquery(terms, *, prefix: bool, weights: str = "", joiner: str = "|"):
    suffix = (":*" if prefix else ":") + weights if (prefix or weights) else ""
    raw = f" {joiner} ".join(f"'{term}'{suffix}" for term in terms)
    return SearchQuery(raw, search_type="raw", config="simple")


def _matches(terms: list[str], conditions: list[int], fields: list[int], *, prefix: bool) -> Q:
    """Rows where one of `terms` is (or begins) a word of a name or city, or that are listed
    for one of these conditions or fields."""
    match = Q(names=_tsquery(terms, prefix=prefix)) if terms else NEVER
    if conditions:
        match |= Q(condition_ids__overlap=conditions)
    if fields:
        match |= Q(specialty_ids__overlap=fields)
    return match


def text_filters(understanding: Understanding) -> tuple[Q, Q, Q]:
    """(match, exact, name) conditions for the rows. `match` keeps a row; `name` (every name word
    begins a word of the specialist's or a clinic's name) and `exact` (every word begins a word
    of a name or city, or is one of the row's conditions or fields) rank it; the rest were found
    through a similar word or sound."""
    match, exact = Q(), Q()
    name_words = [w.text for w in understanding.words if w.by_name]
    for word in understanding.words:
        word_exact = _matches(
            [word.text] if word.by_name else [], word.conditions, word.fields, prefix=True
        )
        exact &= word_exact
        similar = _matches(
            word.alternatives, word.similar_conditions, word.similar_fields, prefix=False
        )
        if word.sound:
            similar |= Q(sounds__contains=[word.sound])
        match &= word_exact | similar
    if name_words and len(name_words) == len(understanding.words):
        name = Q(names=_tsquery(name_words, prefix=True, weights="AB", joiner="&"))
    else:
        name = NEVER  # a medical word is never a name
    return match, exact, name
