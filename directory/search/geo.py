"""Where a search is around, for specialists and clinics alike: the place a patient names in
`city` or in `q` (a town or district in any of four languages, a postcode, or a slug), never
resolved silently, and the SQL that keeps rows within a radius of it.

A name that several places share is resolved to the one in the country filter, then to the
largest; the others are offered ("Did you mean: Neustadt an der Weinstraße, ..."). The page
always states the place: "within 25 km of Fribourg (FR, Switzerland)".
"""

import math
import re
from dataclasses import dataclass, field

from django.core.cache import cache
from django.utils.translation import get_language

from directory.places import COUNTRY_NAMES, place_key, region_names
from directory.search import keys

DEFAULT_RADIUS = 25
MAX_RADIUS = 500
RADIUS_CHOICES = (5, 10, 25, 50, 100, 250, 500)
# Alternatives offered for an ambiguous name.
MAX_ALTERNATIVES = 6
# earthdistance's radius of the earth in metres (its earth() function).
EARTH_RADIUS = 6378168.0
KM_PER_DEGREE = 111.2
# A postcode, alone or with its country ("D-80331", "CH 3011") and the town's name.
POSTCODE = re.compile(r"^(?:(?P<country>d|de|a|at|ch)\s*)?(?P<code>\d{4,5})(?:\s+(?P<name>.+))?$")
POSTCODE_COUNTRIES = {"d": "DE", "de": "DE", "a": "AT", "at": "AT", "ch": "CH"}


@dataclass(frozen=True)
class Origin:
    """A point a search is around: a town, a district or a postcode area."""

    kind: str  # "town", "district" or "postcode"
    value: str  # what `city=` takes for it: a place's slug or a postcode
    names: tuple[tuple[str, str], ...]  # (language, name)
    country: str
    region: str
    latitude: float
    longitude: float
    population: int = 0
    city: str = ""  # a district's city, a postcode's town (in German)

    def name(self, language: str | None = None) -> str:
        language = language or get_language() or "en"
        names = dict(self.names)
        return names.get(language) or names.get("en") or names.get("de") or self.value

    @property
    def label(self) -> str:
        """ "Fribourg (FR, Switzerland)", "Hamburg-Altona (Hamburg, Germany)", "10115 Berlin
        (Berlin, Germany)" in the page's language."""
        language = get_language() or "en"
        region = region_names().get((self.country, self.region), {})
        if self.country == "CH":
            region_label = region.get("short", "")
        else:
            region_label = region.get(language) or region.get("en", "")
        country = COUNTRY_NAMES[self.country].get(language, COUNTRY_NAMES[self.country]["en"])
        name = self.name(language)
        if self.kind == "district" and self.city and not name.startswith(self.city):
            name = f"{self.city}-{name}"
        where = ", ".join(part for part in (region_label, country) if part and part != name)
        return f"{name} ({where})"


@dataclass(frozen=True)
class Resolution:
    """The place a name stands for, the other places it could mean, and how it was found."""

    origin: Origin
    alternatives: tuple[Origin, ...] = field(default_factory=tuple)
    matched_name: str = ""  # the words after a postcode that named its town

    @property
    def ambiguous(self) -> bool:
        return bool(self.alternatives)


def _place_origin(place) -> Origin:
    names = tuple(
        (language, getattr(place, f"name_{language}"))
        for language in ("en", "de", "fr", "it")
        if getattr(place, f"name_{language}")
    )
    parent = getattr(place, "parent", None)
    return Origin(
        kind=place.kind,
        value=place.slug,
        names=names,
        country=place.country,
        region=place.region,
        latitude=place.latitude,
        longitude=place.longitude,
        population=place.population,
        city=parent.name_de if parent is not None else "",
    )


def _postcode_origin(postcode) -> Origin:
    place = postcode.place
    if place is None:
        town = postcode.name
    elif place.kind == "district" and place.parent is not None:
        town = f"{place.parent.name_de}-{place.name_de}"
    else:
        town = place.name_de
    return Origin(
        kind="postcode",
        value=postcode.code,
        names=(("en", f"{postcode.code} {town}"),),
        country=postcode.country,
        region=postcode.region,
        latitude=postcode.latitude,
        longitude=postcode.longitude,
        city=town,
    )


def choose(places: list, countries, *, typed: str = "") -> Resolution:
    """The place meant among those that share a name: in the country filter first, a town
    before a district, the largest; the rest become alternatives."""
    countries = set(countries or ())
    key = place_key(typed)

    def rank(place):
        own_names = {place_key(getattr(place, f"name_{lang}")) for lang in ("en", "de", "fr", "it")}
        return (
            bool(countries) and place.country not in countries,
            -place.population,  # a town before a hamlet
            key not in own_names,  # an official name before another spelling
            place.pk,
        )

    ordered = sorted(places, key=rank)
    best = ordered[0]
    others = [
        p
        for p in ordered[1:]
        if not countries
        or p.country in countries
        or not any(q.country in countries for q in ordered)
    ]
    return Resolution(
        origin=_place_origin(best),
        alternatives=tuple(_place_origin(p) for p in others[:MAX_ALTERNATIVES]),
    )


def places_named(names: list[str]) -> dict[str, list]:
    """The places each of these folded names (or their Sankt spellings) stands for. One query."""
    from directory.models import Place

    wanted = {place_key(name): name for name in names if name}
    if not wanted:
        return {}
    found: dict[str, list] = {}
    for place in Place.objects.select_related("parent").filter(search_names__overlap=list(wanted)):
        for key in set(place.search_names) & set(wanted):
            found.setdefault(wanted[key], []).append(place)
    return found


def resolve_postcode(code: str, *, name: str = "", countries=()) -> Resolution | None:
    """The area of a postcode (with the town's name, when given, to tell a Swiss from an
    Austrian one), the others with the same digits as alternatives. One query."""
    from directory.models import Postcode

    rows = list(Postcode.objects.select_related("place__parent").filter(code=code).order_by("id"))
    if countries:
        rows = [r for r in rows if r.country in countries] or rows
    if not rows:
        return None
    matched = ""
    if name:
        words = name.split()
        for length in range(len(words), 0, -1):
            wanted = place_key(" ".join(words[:length]))
            named = [
                r for r in rows
                if wanted in {place_key(r.name), *(r.place.search_names if r.place else [])}
                or place_key(r.name).startswith(wanted)
            ]  # fmt: skip
            if named:
                rows, matched = named, " ".join(words[:length])
                break
    by_country: dict[str, list] = {}
    # The most telling name first: a district ("Hamburg-Altona-Altstadt") before the bare town.
    rows.sort(key=lambda r: (r.place is None or r.place.kind != "district", r.id))
    for row in rows:
        by_country.setdefault(row.country, []).append(row)
    first = next(iter(by_country.values()))
    return Resolution(
        origin=_postcode_origin(first[0]),
        alternatives=tuple(_postcode_origin(rows[0]) for rows in list(by_country.values())[1:]),
        matched_name=matched,
    )


def resolve(text: str, countries=()) -> Resolution | None:
    """What `city=` names: a postcode (with or without country and town), a place's slug, or a
    name in any language or spelling. Cached for an hour (the gazetteer changes only with a new
    version of the code)."""
    text = (text or "").strip()
    if not text:
        return None
    key = keys.place(f"{text}|{','.join(sorted(countries or ()))}")
    return cache.get_or_set(key, lambda: (_resolve(text, countries),), 60 * 60)[0]


def _resolve(text: str, countries) -> Resolution | None:
    from directory.models import Place

    folded = place_key(text)
    match = POSTCODE.match(folded)
    if match:
        country = POSTCODE_COUNTRIES.get(match["country"] or "")
        return resolve_postcode(
            match["code"], name=match["name"] or "", countries=[country] if country else countries
        )
    found = places_named([folded]).get(folded)
    if found:
        return choose(found, countries, typed=text)
    # A slug of the site's own links ("neustadt-am-rubenberge", "freiburg-ch-2660718").
    by_slug = Place.objects.select_related("parent").filter(slug=text.lower()).first()
    return Resolution(origin=_place_origin(by_slug)) if by_slug is not None else None


# --- Within a radius ---------------------------------------------------------------------


def chord(metres: float) -> float:
    """The straight-line distance through the earth for a great-circle distance."""
    return 2 * EARTH_RADIUS * math.sin(min(metres / (2 * EARTH_RADIUS), math.pi / 2))


def box(origin: Origin, km: float) -> list[float]:
    """[min latitude, max latitude, min longitude, max longitude] of a box that holds the circle
    (wider in longitude away from the equator), for B-tree indexes on latitude and longitude."""
    dlat = km / KM_PER_DEGREE
    dlon = min(180.0, km / (KM_PER_DEGREE * max(math.cos(math.radians(origin.latitude)), 0.01)))
    return [
        origin.latitude - dlat,
        origin.latitude + dlat,
        origin.longitude - dlon,
        origin.longitude + dlon,
    ]
