"""The words patients use, as the search understands them: every name and synonym of the medical
fields and conditions in four languages (folded), and the titles, filler words and prepositions
that are never required to match ("Dr.", "in", "near me", "Facharzt für", "dott.ssa", "près de
chez moi", "l'").

The taxonomy is small (a few hundred fields and conditions, a few thousand terms), so it is held
in memory, once per process and taxonomy generation, and matched in Python: whole terms and
phrases, words a term begins with ("kardio"), German compounds both ways ("krebs" is part of
"Darmkrebs"; "Nierenkrebs" is a kind of "Krebs"), and French and Italian plurals and feminines
by their stems ("oculisti", "médecins de famille").
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


def _phrases(*phrases: str) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(fold(phrase).split()) for phrase in phrases)


# Titles and filler words (folded). They never have to match anything; a query of nothing else
# ("Dr. Arzt") is read as names after all. A title that is also a term of the vocabulary on its
# own ("PR", French for rheumatoid arthritis) is a title only before another word ("Pr Rochat").
TITLES = _words(
    "dr dres drs doktor prof professor professorin pd priv doz privatdoz privatdozent "
    "privatdozentin med univ dent habil dipl ing mag msc bsc phd md mba frcs mr mrs ms frau herr "
    # French and Swiss French: "Dre" and "Pre" for women, "Dr méd.", "spécialiste FMH"
    "docteur docteure doctoresse dre pr pre professeur professeure privat docent fmh "
    "mme madame mlle mademoiselle monsieur "
    # Italian: "dott.ssa", "dr.ssa" and "prof.ssa" fold to two words, the second "ssa"
    "dott dottssa dottor dottoressa ssa professore professoressa sig signor signora"
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
    # French: articles, prepositions, "I am looking for", "good", "doctor", "near"
    "a au aux de du des la le les un une en dans sur vers chez pour par avec et ou "
    "mon ma mes moi je ai me cherche cherchons recherche chercher trouver besoin qui "
    "bon bonne bons bonnes meilleur meilleure meilleurs meilleures "
    "medecin medecins docteur docteurs specialiste specialistes praticien praticienne "
    "pres proche proches autour environs alentours proximite cote coin ici "
    "rendez vous rdv prendre consultation consulter "
    # Italian: the same, with the articles joined to prepositions ("nella", "dalle")
    "di del dello della dei degli delle da dal dallo dalla dai dagli dalle ad al allo alla ai "
    "agli alle nel nello nella nei negli nelle sul sullo sulla sui sugli sulle con per tra fra "
    "il lo gli i uno una e ed o mio mia miei mie mi io cerco cerchiamo cercare trovare serve "
    "bisogno ho buon buono buona bravo brava bravi brave migliore migliori che cura curare "
    "medico medici medica dottore dottori dottoressa specialista specialisti "
    "vicino vicina vicini vicine vicinanze dintorni paraggi presso qui qua "
    "visita visite prenotare prenotazione appuntamento consulto"
)
# Articles and prepositions elided before a vowel: "l'oculiste", "d'un cardiologue",
# "j'ai", "dell'occhio". Filler words when written with their apostrophe.
ELISIONS = _words(
    "l d j m n s t c qu jusqu lorsqu puisqu quoiqu "
    "un dell all dall nell sull coll quell quest nessun"
)
# Phrases that only say "near me"; read before places, so "in der Nähe" is no town called Nahe
# and "à proximité" no place at all.
FILLER_PHRASES = _phrases(
    # English
    "near me",
    "close to me",
    "around me",
    "in my area",
    "nearby",
    # German
    "in der Nähe",
    "in meiner Nähe",
    "in der Umgebung",
    "in meiner Umgebung",
    # French
    "près de chez moi",
    "près de moi",
    "proche de chez moi",
    "proche de moi",
    "à côté de chez moi",
    "autour de moi",
    "autour de chez moi",
    "à proximité",
    "à proximité de chez moi",
    "à proximité de moi",
    "dans les environs",
    "aux alentours",
    "dans le coin",
    "dans ma région",
    "dans mon quartier",
    "dans ma ville",
    "pas loin de chez moi",
    "non loin de chez moi",
    "près d'ici",
    "le plus proche",
    "la plus proche",
    "les plus proches",
    # Italian
    "vicino a me",
    "vicino da me",
    "vicino casa",
    "vicino a casa",
    "vicino casa mia",
    "vicino a casa mia",
    "nelle vicinanze",
    "nelle mie vicinanze",
    "qui vicino",
    "qua vicino",
    "qui intorno",
    "intorno a me",
    "attorno a me",
    "in zona",
    "in zona mia",
    "nella mia zona",
    "nei dintorni",
    "nei paraggi",
    "da queste parti",
    "dalle mie parti",
    "il più vicino",
    "la più vicina",
    "più vicino",
    "più vicina",
)
# Words that say "around a place": what follows may be one ("à Genève", "vicino a Bellinzona",
# "près d'Yverdon", "sur Lausanne" as the Romands say). The longest that ends just before a place
# is taken with it.
PLACE_PREPOSITIONS = _phrases(
    # English and German
    "in", "im", "at", "near", "around", "close to", "near to", "next to", "in the area of",
    "bei", "beim", "nahe", "nahe bei", "in der Nähe von", "in der Umgebung von", "rund um",
    # French ("au" and "aux" also stand for "à le", "à les": see CONTRACTED_ARTICLES)
    "à", "au", "aux", "en", "sur", "vers", "près", "près de", "près d'", "proche",
    "proche de", "proche d'", "autour de", "autour d'", "à côté de", "à côté d'",
    "à proximité de", "à proximité d'", "aux environs de", "aux environs d'",
    "dans les environs de", "dans les environs d'", "aux alentours de", "aux alentours d'",
    "dans la région de", "dans la région d'", "du côté de", "du côté d'", "non loin de",
    "non loin d'", "pas loin de", "pas loin d'",
    # Italian
    "a", "ad", "vicino", "vicino a", "vicino ad", "presso", "nei pressi di",
    "nelle vicinanze di", "nei dintorni di", "dalle parti di", "intorno a", "attorno a",
    "in zona", "nella zona di",
)  # fmt: skip
# French articles that begin a place's name ("La Chaux-de-Fonds", "Le Locle"); one may begin a
# place of two words or more, though alone it is a filler.
ARTICLES = _words("la le les l")
# A preposition and an article in one word: "au Locle" is in Le Locle, "du Locle" from it.
CONTRACTED_ARTICLES = {"au": "le", "aux": "les", "du": "le", "des": "les"}
# French and Italian words change their endings for the plural and the feminine: "cardiologues",
# "oculisti", "dermatologhe", "chirurgienne", "tumori al seno", "métastase hépatique". Terms are
# also kept by their words' stems (the word without these endings), and a phrase or a word the
# vocabulary does not know otherwise is looked up by its stems. A single word only among terms
# of one word, the practitioners and fields ("Bianchi" is a name, not "macchie bianche"), unless
# it is just the plural of a word of a term ("genoux").
MIN_STEM = 5


def stem(word: str) -> str:
    """A folded word without its French or Italian plural or feminine ending: "oculista",
    "oculisti" and "oculiste" are "oculist"; "cardiologue" (folded "cardiologu"), "cardiologo"
    and "cardiologhe" are "cardiolog"; "médicaux" is "medical". Short words stay as they are."""
    if len(word) <= 3:
        return word
    stemmed = word[:-1] if word[-1] in "sx" else word
    if stemmed.endswith("au"):
        stemmed = stemmed[:-2] + "al"  # "medicaux", "medical"
    stemmed = stemmed.rstrip("aeiou")
    if stemmed.endswith(("ch", "gh", "nn")):
        stemmed = stemmed[:-1]  # "cronici", "croniche"; "chirurgien", "chirurgienne"
    return stemmed if len(stemmed) >= 3 else word


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
    stems: dict[tuple[str, ...], set[Concept]] = field(default_factory=dict)  # see stem()
    phrases: list[str] = field(default_factory=list)  # terms of several words, joined, sorted
    longest_term: int = 1

    def add(self, text: str, concept: Concept) -> None:
        words = tuple(fold(text).split())
        if not words:
            return
        self.terms.setdefault(words, set()).add(concept)
        self.stems.setdefault(tuple(stem(word) for word in words), set()).add(concept)
        self.longest_term = max(self.longest_term, len(words))
        for word in words:
            self.concepts_of_word.setdefault(word, set()).add(concept)

    def finish(self) -> "Vocabulary":
        self.words = sorted(self.concepts_of_word)
        self.reversed_words = sorted(word[::-1] for word in self.words)
        self.phrases = sorted(" ".join(words) for words in self.terms if len(words) > 1)
        return self

    def phrase(self, words: tuple[str, ...]) -> set[Concept]:
        return self.terms.get(words, set())

    def phrases_starting_with(self, text: str) -> set[Concept]:
        """What the terms of several words that begin with this folded text stand for ("cancer
        du s": "cancer du sein"), for suggestions while a phrase is typed."""
        start = bisect.bisect_left(self.phrases, text)
        concepts = set()
        for phrase in self.phrases[start:]:
            if not phrase.startswith(text):
                break
            concepts |= self.terms[tuple(phrase.split())]
        return concepts

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
            concepts = self._decompound(word) or self._inflected(word)
        return concepts

    def is_word(self, word: str) -> bool:
        """Whether this folded word is itself a word of a term (not only the beginning or the
        end of one): "Sion" ends "hypertension" and "Gland" begins "glande", yet they are towns."""
        return word in self.concepts_of_word

    def inflected_phrase(self, words: tuple[str, ...]) -> set[Concept]:
        """The terms of several words that these words are a plural or feminine of."""
        return self.stems.get(tuple(stem(word) for word in words), set())

    def _inflected(self, word: str) -> set[Concept]:
        """What a French or Italian plural or feminine of one word stands for (see stem())."""
        singular = word[:-1] if word[-1:] in {"s", "x"} else ""
        if len(singular) >= MIN_STEM and singular in self.concepts_of_word:
            return set(self.concepts_of_word[singular])
        stemmed = stem(word)
        if len(stemmed) < MIN_STEM:
            return set()
        return set(self.stems.get((stemmed,), set()))

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
