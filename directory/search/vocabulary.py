"""The words patients use, as the search understands them: every name and synonym of the medical
fields and conditions (folded), and the titles and filler words that are never required to
match ("Dr.", "in", "near me", "Facharzt für").

The taxonomy is small (a few hundred fields and conditions, a few thousand terms), so it is held
in memory, once per process and taxonomy generation, and matched in Python: whole terms and
phrases, words a term begins with ("kardio"), and German compounds both ways ("krebs" is part of
"Darmkrebs"; "Nierenkrebs" is a kind of "Krebs").
"""

import bisect
import threading
from dataclasses import dataclass, field

from django.db import connections

from core import languages
from core.routers import read_alias
from directory.places import fold


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Titles and filler words (folded). They never have to match anything; a query of nothing else
# ("Dr. Arzt") is read as names after all.
TITLES = _words(
    "dr dres drs doktor prof professor professorin pd priv doz privatdoz privatdozent "
    "privatdozentin med univ dent habil dipl ing mag msc bsc phd md mba frcs dott dottssa "
    "dottoressa docteur mr mrs ms frau herr"
)
FILLERS = _words(
    # English
    "in at near nearby me around the a an for of with and or by my best good doctor doctors "
    "physician physicians specialist specialists consultant consultants expert experts find "
    # German
    "im bei beim nahe nah der die das dem den des von vom fur und oder mit mein meine meiner "
    "arzt arztin arzte arzten facharzt facharztin facharzte spezialist spezialistin spezialisten "
    "experte expertin mediziner medizinerin umgebung umkreis gut guter gute beste bester "
    "suche finden "
    # French and Italian
    "a au aux pres de du des la le les un une pour medecin medecins docteur specialiste "
    "vicino vicina di del della dei per il lo gli medico medici dottore specialista"
)
# Phrases that only say "near me"; read before places, so "in der Nähe" is no town called Nahe.
FILLER_PHRASES = frozenset(
    tuple(phrase.split())
    for phrase in (
        "in der nahe",
        "in meiner nahe",
        "in der umgebung",
        "in meiner umgebung",
        "near me",
        "close to me",
        "around me",
        "in my area",
        "nearby",
        "pres de chez moi",
        "vicino a me",
    )
)
# Words that say "around a place": what follows may be one.
PLACE_PREPOSITIONS = frozenset(
    {"in", "im", "bei", "beim", "near", "nahe", "around", "at", "a", "au", "vicino"}
)
# German compounds join their parts with these letters ("Lunge-n-krebs").
LINKING_ENDINGS = ("ns", "es", "en", "er", "n", "s", "e")
MIN_PREFIX = 3
MIN_COMPOUND_PART = 4


@dataclass(frozen=True)
class Concept:
    kind: str  # "condition" or "specialty"
    id: int


@dataclass
class Vocabulary:
    """Folded terms of the taxonomy and what they stand for."""

    terms: dict[tuple[str, ...], set[Concept]] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)  # every word of every term, sorted
    reversed_words: list[str] = field(default_factory=list)  # the same, each reversed, sorted
    concepts_of_word: dict[str, set[Concept]] = field(default_factory=dict)
    longest_term: int = 1

    def add(self, text: str, concept: Concept) -> None:
        words = tuple(fold(text).split())
        if not words:
            return
        self.terms.setdefault(words, set()).add(concept)
        self.longest_term = max(self.longest_term, len(words))
        for word in words:
            self.concepts_of_word.setdefault(word, set()).add(concept)

    def finish(self) -> "Vocabulary":
        self.words = sorted(self.concepts_of_word)
        self.reversed_words = sorted(word[::-1] for word in self.words)
        return self

    def phrase(self, words: tuple[str, ...]) -> set[Concept]:
        return self.terms.get(words, set())

    def _starting_with(self, prefix: str) -> list[str]:
        start = bisect.bisect_left(self.words, prefix)
        found = []
        for word in self.words[start:]:
            if not word.startswith(prefix):
                break
            found.append(word)
        return found

    def _ending_with(self, suffix: str) -> list[str]:
        reverse = suffix[::-1]
        start = bisect.bisect_left(self.reversed_words, reverse)
        found = []
        for word in self.reversed_words[start:]:
            if not word.startswith(reverse):
                break
            found.append(word[::-1])
        return found

    def word(self, word: str) -> set[Concept]:
        """What one folded word of a query stands for: terms it is, terms with a word it begins,
        compounds it ends ("krebs" in "darmkrebs"), and, failing those, the compound it is
        ("nierenkrebs": "krebs" things that also have a word beginning "niere")."""
        concepts = set(self.terms.get((word,), set()))
        if len(word) >= MIN_PREFIX:
            for known in self._starting_with(word):
                concepts |= self.concepts_of_word[known]
        if len(word) >= MIN_COMPOUND_PART:
            for known in self._ending_with(word):
                concepts |= self.concepts_of_word[known]
        if not concepts:
            concepts = self._decompound(word)
        return concepts

    def _decompound(self, word: str) -> set[Concept]:
        for split in range(MIN_PREFIX, len(word) - MIN_COMPOUND_PART + 1):
            head, modifier = word[split:], word[:split]
            if head not in self.concepts_of_word:
                continue
            stems = {modifier, *(modifier.removesuffix(e) for e in LINKING_ENDINGS)}
            modified = set()
            for stem in stems:
                if len(stem) >= MIN_PREFIX:
                    for known in self._starting_with(stem):
                        modified |= self.concepts_of_word[known]
            both = self.concepts_of_word[head] & modified
            if both:
                return both
        return set()


def _vocabulary_sql() -> str:
    """Every name and synonym of each public condition and field, in every language."""
    names = ", ".join(languages.columns("name", "synonyms"))
    return """
SELECT 'condition', id, concat_ws(E'\\n', {names})
FROM directory_condition WHERE NOT needs_review
UNION ALL
SELECT 'specialty', id, concat_ws(E'\\n', {names})
FROM directory_specialty WHERE NOT needs_review
""".replace("{names}", names)


_loaded: dict[str, Vocabulary] = {}
_lock = threading.Lock()


def vocabulary(generation: str) -> Vocabulary:
    """The taxonomy's vocabulary as of this taxonomy generation (a new field, condition or
    synonym starts a new one; a change to a listing does not). Built once per process and
    generation; one query."""
    with _lock:
        found = _loaded.get(generation)
    if found is not None:
        return found
    built = Vocabulary()
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(_vocabulary_sql())
        for kind, pk, text in cursor.fetchall():
            for line in text.splitlines():
                built.add(line, Concept(kind, pk))
    built.finish()
    with _lock:
        _loaded.clear()  # only the current generation is kept
        _loaded[generation] = built
    return built
