"""Suggestions as a patient types (`/<lang>/suggest/?q=`): medical fields, conditions, places
and specialists whose names begin with the words typed, as JSON for the search box's combobox
(static/js/suggest.js). Without JavaScript nothing asks for them.

Fields and conditions come from the vocabulary in memory; places from an index of the
gazetteer's names held in memory (it changes only with a new version of the code); postcodes and
specialists from B-tree indexes. At most three queries, the answer cached per generation.
"""

import bisect
import threading
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connections
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.routers import read_alias
from directory.places import fold, place_key
from directory.search import keys
from directory.search.geo import Origin, _place_origin
from directory.search.plan import conditions, specialties
from directory.search.vocabulary import FILLERS, TITLES, vocabulary

MAX_SUGGESTIONS = 8
PER_KIND = 3
MIN_LENGTH = 2


@dataclass(frozen=True)
class Suggestion:
    kind: str
    kind_label: str
    label: str
    url: str

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "kind_label": self.kind_label,
            "label": self.label,
            "url": self.url,
        }


class _PlaceIndex:
    """Every folded name of every place, sorted, for prefix look-ups; built once per process."""

    def __init__(self):
        from directory.models import Place

        self.places = {p.pk: p for p in Place.objects.select_related("parent")}
        entries = sorted(
            {(key, pk) for pk, place in self.places.items() for key in place.search_names}
        )
        self.keys = [key for key, _pk in entries]
        self.ids = [pk for _key, pk in entries]

    def starting_with(self, prefix: str) -> list:
        start = bisect.bisect_left(self.keys, prefix)
        found = {}
        for index in range(start, len(self.keys)):
            if not self.keys[index].startswith(prefix):
                break
            place = self.places[self.ids[index]]
            found[place.pk] = place
        return sorted(found.values(), key=lambda p: -p.population)


_place_index: _PlaceIndex | None = None
_lock = threading.Lock()


def _places() -> _PlaceIndex:
    global _place_index
    with _lock:
        if _place_index is None:
            _place_index = _PlaceIndex()
        return _place_index


def suggest(query: str) -> list[dict]:
    """What to offer for `query`, in the page's language; cached per generation of the index
    (never a specialist unpublished since)."""
    folded = fold(query)[:100]
    if len(folded) < MIN_LENGTH:
        return []
    language = get_language() or "en"
    return cache.get_or_set(
        keys.suggestions(language, folded),
        lambda: [s.as_json() for s in _suggest(folded, language)][:MAX_SUGGESTIONS],
        keys.cache_seconds(),
    )


def _suggest(folded: str, language: str) -> list[Suggestion]:
    words = [w for w in folded.split() if w not in TITLES]
    if not words:
        return []
    last = words[-1]
    found: list[Suggestion] = []
    found += _taxonomy(" ".join(words), last, language)
    found += _place_suggestions([w for w in words if w not in FILLERS] or [last], language)
    found += _specialists(words)
    # What begins with all that was typed first ("Hamburg-Alt": the districts before
    # "Altersbedingte Makuladegeneration"), otherwise in the order of the kinds.
    typed = " ".join(words)
    return sorted(found, key=lambda s: not fold(s.label).startswith(typed))


def _taxonomy(phrase: str, last: str, language: str) -> list[Suggestion]:
    vocab = vocabulary(keys.generation(keys.TAXONOMY_GENERATION_KEY))
    # A phrase being typed ("cancer du s", "métastases hép"): the terms that begin with it.
    concepts = vocab.phrases_starting_with(phrase) if " " in phrase else set()
    if not concepts:
        concepts = vocab.word(last) if len(last) >= 3 else vocab.phrase((last,))
        if " " in phrase:
            concepts = concepts | vocab.phrase(tuple(phrase.split()))
        # What the other words stand for narrows it down ("cancer sei": the breast cancer).
        for word in phrase.split()[:-1]:
            known = vocab.word(word) if len(word) >= 3 and word not in FILLERS else set()
            if concepts & known:
                concepts = concepts & known
    fields = specialties()
    topics = conditions()
    results = []
    for kind, items, label, url in (
        (
            "specialty",
            [fields[c.id] for c in concepts if c.kind == "specialty" and c.id in fields],
            _("Medical field"),
            lambda f: reverse("directory:search") + "?" + urlencode({"specialty": f.slug}),
        ),
        (
            "condition",
            [topics[c.id] for c in concepts if c.kind == "condition" and c.id in topics],
            _("Condition or treatment"),
            lambda c: reverse("content:condition", args=[c.slug]),
        ),
    ):
        # Those whose own name begins with what was typed first, then with its last word.
        items.sort(
            key=lambda item: (
                not fold(item.name).startswith(phrase),
                not fold(item.name).startswith(last),
                fold(item.name),
            )
        )
        results += [Suggestion(kind, str(label), item.name, url(item)) for item in items[:PER_KIND]]
    return results


def _place_suggestions(words: list[str], language: str) -> list[Suggestion]:
    """Places whose names begin with the words typed, or with the last of them ("cardiologue à
    Gen", "Kardiologe Ber": the place is typed after the field). At most one query, for a
    postcode."""
    label = str(_("Place"))
    search = reverse("directory:search")
    origins: list[Origin] = []
    for start in range(len(words)):
        text = " ".join(words[start:])
        if text.isdigit():
            origins = _postcodes(text) if len(text) >= 3 else []
            break
        if len(text) >= 3:
            origins = [
                _place_origin(p) for p in _places().starting_with(place_key(text))[:PER_KIND]
            ]
            if origins:
                break
    return [
        Suggestion("place", label, o.label, f"{search}?{urlencode({'city': o.value})}")
        for o in origins
    ]


def _postcodes(prefix: str) -> list[Origin]:
    from directory.models import Postcode
    from directory.search.geo import _postcode_origin

    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    rows = (
        Postcode.objects.select_related("place__parent")
        .filter(code__gte=prefix, code__lt=upper)
        .order_by("code", "country", "id")
    )
    seen, origins = set(), []
    for row in rows[:30]:
        if (row.country, row.code) not in seen:
            seen.add((row.country, row.code))
            origins.append(_postcode_origin(row))
        if len(origins) == PER_KIND:
            break
    return origins


_SPECIALISTS_SQL = """
SELECT s.honorific_prefix, s.given_name, s.family_name, s.slug
FROM directory_specialistsearch r JOIN directory_specialist s ON s.id = r.specialist_id
WHERE r.sort_name LIKE %s
ORDER BY r.sort_name, r.specialist_id
LIMIT %s
"""


def _specialists(words: list[str]) -> list[Suggestion]:
    """Specialists whose family name begins with the last word (and whose name holds the
    others): the name index's prefix range."""
    names = [w for w in words if w not in FILLERS]
    if not names or len(names[-1]) < 3:
        return []
    prefix = names[-1].replace("\\", "").replace("%", "").replace("_", "")
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(_SPECIALISTS_SQL, [f"{prefix}%", PER_KIND * 4])
        rows = cursor.fetchall()
    others = names[:-1]
    label = str(_("Specialist"))
    results = []
    for honorific, given, family, slug in rows:
        full = fold(f"{given} {family}")
        if all(word in full for word in others):
            name = " ".join(part for part in (honorific, given, family) if part)
            results.append(
                Suggestion("specialist", label, name, reverse("directory:specialist", args=[slug]))
            )
        if len(results) == PER_KIND:
            break
    return results
