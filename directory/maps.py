"""Maps of search results and of a listing's locations: SVG drawn on the server, from outlines
committed in the repository (directory/reference/map/dach.json, Natural Earth, public domain).
Nothing is loaded from another host, and the map works without JavaScript; static/js/map.js
only adds zoom and pan.

`render_map()` draws the outlines of Germany, Austria, Switzerland and Liechtenstein, the
searched place with its radius, and one numbered marker per result, each a link to the listing.
The projection is equirectangular, longitudes scaled by the cosine of the view's mean latitude:
at the scale of a country the distortion is a few per cent. Markers without coordinates or
outside the DACH area (a typing error in the data, the other side of the world) are not drawn;
the numbers of the others stay those of the list.
"""

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from directory.search.geo import KM_PER_DEGREE
from directory.simplify import simplify

OUTLINES = Path(__file__).resolve().parent / "reference/map/dach.json"

# The area a marker must be in to be drawn: the outlines' extent and about 20 km around it.
AREA_MARGIN = 0.25  # degrees


@dataclass(frozen=True)
class Marker:
    """One point on the map. `number` is the result's number in the list (None: a plain pin);
    `url` makes the marker a link; `label` is its accessible name after the number; `country`
    (DE, AT, CH, LI), when known, is the country a small map shows around it."""

    number: int | None
    latitude: float | None
    longitude: float | None
    label: str
    url: str = ""
    country: str = ""


@dataclass(frozen=True)
class Size:
    width: int
    height: int
    pin: float  # radius of a marker, in the map's units (CSS pixels at full size)
    apart: float  # markers closer than this are spread out (they grow on a narrow screen)
    padding: float  # room kept around what the view fits
    min_span_km: float  # the view is never narrower than this
    locator: bool  # fit the whole countries the markers are in, not only the markers
    zoomable: bool  # static/js/map.js adds zoom buttons


SIZES = {
    "large": Size(
        640, 560, pin=11, apart=38, padding=32, min_span_km=30, locator=False, zoomable=True
    ),
    "small": Size(
        320, 240, pin=9, apart=24, padding=20, min_span_km=30, locator=True, zoomable=False
    ),
}


@dataclass(frozen=True)
class Country:
    id: str
    name: str
    polygons: tuple  # ((ring, ...), ...); a ring is ((longitude, latitude), ...)
    bounds: tuple[float, float, float, float]  # west, south, east, north

    def contains(self, longitude: float, latitude: float) -> bool:
        west, south, east, north = self.bounds
        if not (west <= longitude <= east and south <= latitude <= north):
            return False
        inside = False
        for polygon in self.polygons:
            for ring in polygon:  # even-odd: a hole's ring flips it back
                inside ^= _in_ring(ring, longitude, latitude)
        return inside


def _in_ring(ring, x: float, y: float) -> bool:
    inside = False
    (px, py) = ring[-1]
    for qx, qy in ring:
        if (qy > y) != (py > y) and x < (px - qx) * (y - qy) / (py - qy) + qx:
            inside = not inside
        px, py = qx, qy
    return inside


def _bounds(points: Iterable[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = zip(*points, strict=True)
    return min(xs), min(ys), max(xs), max(ys)


@cache
def countries() -> tuple[Country, ...]:
    """The outlines of dach.json, read once per process."""
    data = json.loads(OUTLINES.read_text(encoding="utf-8"))
    result = []
    for country in data["countries"]:
        polygons = tuple(
            tuple(tuple((lon, lat) for lon, lat in ring) for ring in polygon)
            for polygon in country["polygons"]
        )
        points = [point for polygon in polygons for ring in polygon for point in ring]
        result.append(Country(country["id"], country["name"], polygons, _bounds(points)))
    return tuple(result)


@cache
def dach_bounds() -> tuple[float, float, float, float]:
    return _bounds(corner for c in countries() for corner in (c.bounds[:2], c.bounds[2:]))


def _country(marker) -> str:
    """The marker's country: as given, or where the outlines put it."""
    given = getattr(marker, "country", "")
    if given:
        return given
    at = (marker.longitude, marker.latitude)
    return next((c.id for c in countries() if c.contains(*at)), "")


def in_area(latitude: float | None, longitude: float | None) -> bool:
    """Whether a point can be drawn: it has coordinates, within the DACH area."""
    if latitude is None or longitude is None:
        return False
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return False
    west, south, east, north = dach_bounds()
    return (
        west - AREA_MARGIN <= longitude <= east + AREA_MARGIN
        and south - AREA_MARGIN <= latitude <= north + AREA_MARGIN
    )


# --- Projection ------------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """What the map shows: its size in units, its centre and scale (units per km)."""

    width: int
    height: int
    longitude: float
    latitude: float
    scale: float

    @property
    def cos_latitude(self) -> float:
        return math.cos(math.radians(self.latitude))

    def project(self, longitude: float, latitude: float) -> tuple[float, float]:
        x = self.width / 2 + (longitude - self.longitude) * self.cos_latitude * self._unit
        y = self.height / 2 - (latitude - self.latitude) * self._unit
        return x, y

    @property
    def _unit(self) -> float:
        return KM_PER_DEGREE * self.scale  # units per degree of latitude

    def radii(self, latitude: float, km: float) -> tuple[float, float]:
        """The half-axes of a circle of `km` around a point at `latitude`: a degree of
        longitude is cos(latitude) of a degree of latitude there, and the projection scales it
        by the cosine of the view's latitude."""
        ry = km * self.scale
        return ry * self.cos_latitude / max(math.cos(math.radians(latitude)), 0.01), ry


def fit(
    bounds: tuple[float, float, float, float], size: Size, min_span_km: float | None = None
) -> View:
    """The view that shows `bounds` (west, south, east, north) with the size's padding, at least
    `min_span_km` across."""
    west, south, east, north = bounds
    latitude, longitude = (south + north) / 2, (west + east) / 2
    minimum = size.min_span_km if min_span_km is None else min_span_km
    span_x = max((east - west) * math.cos(math.radians(latitude)) * KM_PER_DEGREE, minimum)
    span_y = max((north - south) * KM_PER_DEGREE, minimum)
    scale = min((size.width - 2 * size.padding) / span_x, (size.height - 2 * size.padding) / span_y)
    return View(size.width, size.height, round(longitude, 4), round(latitude, 4), scale)


def choose_view(
    size: Size, points: list[tuple[float, float]], circle=None, in_countries=()
) -> View:
    """The whole DACH area, or closer to fit the points (longitude, latitude) and the circle
    (longitude, latitude, km) if they are in a smaller part of it. A small map shows the whole
    of the countries `in_countries` too."""
    whole = fit(dach_bounds(), size)
    if size.locator:
        around = [c.bounds for c in countries() if c.id in in_countries]
        points = points + [corner for b in around for corner in (b[:2], b[2:])]
    if circle is not None:
        lon, lat, km = circle
        dlat = km / KM_PER_DEGREE
        dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
        points = [*points, (lon - dlon, lat - dlat), (lon + dlon, lat + dlat)]
    if not points:
        return whole
    view = fit(_bounds(points), size)
    # Closer only when it is much closer: a view almost as wide as the whole looks cut off.
    return view if view.scale >= whole.scale * 1.5 else whole


# --- Outlines --------------------------------------------------------------------------------


def _clip(points: list[tuple[float, float]], box: tuple[float, float, float, float]) -> list:
    """Sutherland-Hodgman: the polygon cut to the box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    edges = (
        (lambda p: p[0] >= x0, lambda p, q: _at_x(p, q, x0)),
        (lambda p: p[0] <= x1, lambda p, q: _at_x(p, q, x1)),
        (lambda p: p[1] >= y0, lambda p, q: _at_y(p, q, y0)),
        (lambda p: p[1] <= y1, lambda p, q: _at_y(p, q, y1)),
    )
    for inside, cross in edges:
        if not points:
            break
        result = []
        previous = points[-1]
        for point in points:
            if inside(point):
                if not inside(previous):
                    result.append(cross(previous, point))
                result.append(point)
            elif inside(previous):
                result.append(cross(previous, point))
            previous = point
        points = result
    return points


def _at_x(p, q, x):
    t = (x - p[0]) / (q[0] - p[0])
    return x, p[1] + t * (q[1] - p[1])


def _at_y(p, q, y):
    t = (y - p[1]) / (q[1] - p[1])
    return p[0] + t * (q[0] - p[0]), y


def _simplify(points: list[tuple[float, float]], tolerance: float) -> list:
    """Douglas-Peucker in map units: no detail smaller than a pixel is sent."""
    if len(points) < 4:
        return points
    return simplify(points, tolerance)


def _number(value: float) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _path_data(points: list[tuple[float, float]]) -> str:
    """A closed path in whole units, each point relative to the one before ("M320 280l3-2 4
    1z"): the shortest form, as the page weight counts every byte."""
    rounded = [(round(x), round(y)) for x, y in points]
    (x, y), rest = rounded[0], rounded[1:]
    steps = []
    for nx, ny in rest:
        if (nx, ny) != (x, y):
            steps += [nx - x, ny - y]
            x, y = nx, ny
    if len(steps) < 4:  # less than a triangle once rounded
        return ""
    text = "".join(f"{n}" if n < 0 else f" {n}" for n in steps).lstrip()
    return f"M{rounded[0][0]} {rounded[0][1]}l{text}z"


@lru_cache(maxsize=128)
def outline_paths(view: View) -> tuple[tuple[str, str], ...]:
    """(country code, path data) of each country in the view, cut to it (a little beyond its
    edge, so the border lines end outside) and without detail below a unit (a pixel of the
    map at its full size)."""
    margin = 4
    box = (-margin, -margin, view.width + margin, view.height + margin)
    paths = []
    for country in countries():
        parts = []
        for polygon in country.polygons:
            for ring in polygon:
                west, south, east, north = _bounds(ring)
                x0, y0 = view.project(west, north)
                x1, y1 = view.project(east, south)
                if x1 < box[0] or x0 > box[2] or y1 < box[1] or y0 > box[3]:
                    continue
                points = [view.project(lon, lat) for lon, lat in ring[:-1]]
                points = _simplify(_clip(points, box), 0.7)
                data = _path_data(points) if len(points) >= 3 else ""
                if data:  # not when it is smaller than a unit
                    parts.append(data)
        if parts:
            paths.append((country.id, "".join(parts)))
    return tuple(paths)


# --- Markers ---------------------------------------------------------------------------------


@dataclass
class _Placed:
    marker: Marker
    x: float  # where the place is
    y: float
    shown_x: float = 0.0  # where its marker is drawn
    shown_y: float = 0.0


def _spread(placed: list[_Placed], distance: float) -> None:
    """Markers closer than `distance` (a marker's width and a gap) are drawn on a ring around
    their common centre, in the order of their numbers, clockwise from the top, each with a line
    to its own place: the numbers stay readable however many share a spot. Groups whose rings
    would touch another marker are joined and drawn again, a few times at most."""
    groups = list(range(len(placed)))

    def root(i: int) -> int:
        while groups[i] != i:
            groups[i] = groups[groups[i]]
            i = groups[i]
        return i

    def join(x: str, y: str) -> bool:
        joined = False
        for i, a in enumerate(placed):
            for j in range(i + 1, len(placed)):
                b = placed[j]
                near = math.hypot(getattr(a, x) - getattr(b, x), getattr(a, y) - getattr(b, y))
                if near < distance and root(i) != root(j):
                    groups[root(j)] = root(i)
                    joined = True
        return joined

    join("x", "y")
    for _attempt in range(5):
        members: dict[int, list[_Placed]] = {}
        for i, item in enumerate(placed):
            members.setdefault(root(i), []).append(item)
        for group in members.values():
            if len(group) == 1:
                group[0].shown_x, group[0].shown_y = group[0].x, group[0].y
                continue
            cx = sum(item.x for item in group) / len(group)
            cy = sum(item.y for item in group) / len(group)
            ring = max(distance * 0.6, len(group) * distance / (2 * math.pi))
            for n, item in enumerate(group):
                angle = -math.pi / 2 + 2 * math.pi * n / len(group)
                item.shown_x = cx + ring * math.cos(angle)
                item.shown_y = cy + ring * math.sin(angle)
        if not join("shown_x", "shown_y"):
            break


def _safe_url(url: str) -> str:
    """The marker's link, if it is a page address (never a javascript: or data: URL)."""
    url = (url or "").strip()
    if not url:
        return ""
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        return ""
    return url if scheme in {"", "http", "https"} else ""


def _place_name(origin, language: str) -> str:
    name = getattr(origin, "name", "")
    if callable(name):
        return name(language)
    return str(name or getattr(origin, "label", "") or "")


def render_map(
    markers: Sequence,
    *,
    origin=None,
    radius_km: float | None = None,
    language: str,
    title: str,
    size: str = "large",
    map_id: str = "",
) -> SafeString:
    """The map as an SVG inside `<div class="map">`, safe to put in a template.

    `markers`: objects with number, latitude, longitude, label and url (see Marker), in the
    order of the list. `origin`: the searched place, an object with latitude and longitude and
    a `name(language)` method or a `name` or `label` (directory.search.geo.Origin fits);
    `radius_km` draws the circle around it. `title` names the map for assistive technology;
    `size` is "large" (search results) or "small" (a listing's locations). `map_id` makes the
    element ids unique on the page (by default a hash of what the map shows).
    """
    spec = SIZES[size]
    with translation.override(language):
        return _render(markers, origin, radius_km, language, title, spec, size, map_id)


def _render(markers, origin, radius_km, language, title, spec, size, map_id) -> SafeString:
    drawn = [m for m in markers if in_area(m.latitude, m.longitude)]
    if origin is not None and not in_area(origin.latitude, origin.longitude):
        origin = None
    circle = None
    if origin is not None and radius_km:
        circle = (origin.longitude, origin.latitude, float(radius_km))
    points = [(m.longitude, m.latitude) for m in drawn]
    if origin is not None:
        points.append((origin.longitude, origin.latitude))
    regions = {_country(m) for m in drawn} - {""} if spec.locator else set()
    view = choose_view(spec, points, circle, regions)

    if not map_id:
        seen = repr((title, size, [(m.number, m.latitude, m.longitude) for m in drawn]))
        map_id = "map-" + hashlib.blake2s(seen.encode(), digest_size=4).hexdigest()
    title_id = f"{map_id}-title"
    has_links = any(_safe_url(m.url) for m in drawn)
    n = _number
    # static/js/map.js adds zoom buttons to maps with data-map, with these labels (gettext
    # outside the f-string, where makemessages finds it).
    zoom = ""
    if spec.zoomable:
        labels = [escape(gettext("Zoom in")), escape(gettext("Zoom out")), escape(gettext("Reset"))]
        zoom = ' data-map="zoom" data-zoom-in="{}" data-zoom-out="{}" data-reset="{}"'.format(
            *labels
        )
    parts = [
        f'<div class="map map--{escape(size)}"{zoom}>',
        f'<svg xmlns="http://www.w3.org/2000/svg" class="map__svg" id="{escape(map_id)}"'
        f' width="{spec.width}" height="{spec.height}"'
        f' viewBox="0 0 {spec.width} {spec.height}"'
        f' role="{"group" if has_links else "img"}" aria-labelledby="{escape(title_id)}">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        '<g class="map__land" aria-hidden="true">',
    ]
    parts += [
        f'<path class="map__country map__country--{code.lower()}" d="{d}"/>'
        for code, d in outline_paths(view)
    ]
    parts.append("</g>")

    if circle is not None:
        cx, cy = view.project(origin.longitude, origin.latitude)
        rx, ry = view.radii(origin.latitude, circle[2])
        parts.append(
            f'<ellipse class="map__radius" aria-hidden="true" cx="{n(cx)}" cy="{n(cy)}"'
            f' rx="{n(rx)}" ry="{n(ry)}"/>'
        )

    placed = [_Placed(m, *view.project(m.longitude, m.latitude)) for m in drawn]
    _spread(placed, spec.apart)
    moved = [p for p in placed if (p.x, p.y) != (p.shown_x, p.shown_y)]
    if moved:
        # One path for the lines from the places to their markers, one for the places' dots
        # (lines of no length with round ends): twenty markers, few bytes.
        lines = "".join(f"M{n(p.x)} {n(p.y)}L{n(p.shown_x)} {n(p.shown_y)}" for p in moved)
        dots = "".join(dict.fromkeys(f"M{n(p.x)} {n(p.y)}h0" for p in moved))
        parts.append(
            f'<g aria-hidden="true"><path class="map__leader" d="{lines}"/>'
            f'<path class="map__spot" d="{dots}"/></g>'
        )

    if origin is not None:
        ox, oy = view.project(origin.longitude, origin.latitude)
        name = _place_name(origin, language)
        label = ""
        if name:
            x, y, anchor = _label_place(ox, oy, len(name), placed, spec)
            label = (
                f'<text class="map__origin-label{anchor}" x="{x}" y="{y}" dy=".35em">'
                f"{escape(name)}</text>"
            )
        parts.append(
            f'<g class="map__origin" aria-hidden="true" transform="translate({n(ox)} {n(oy)})">'
            f'<path class="map__origin-mark" d="M0-8 8 0 0 8-8 0z"/>{label}</g>'
        )

    if placed:
        parts.append('<g class="map__markers">')
        parts += [_marker(p, spec, has_links) for p in placed]
        parts.append("</g>")
    parts.append("</svg></div>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped or a number


def _label_place(ox: float, oy: float, letters: int, placed: list[_Placed], spec: Size):
    """Where the searched place's name goes, relative to its mark: (x, y, class suffix) of the
    first of right, left, above and below, next to the mark or a little farther, that no marker
    covers and that is in view, else of the one with the fewest markers on it."""
    width, half = letters * 8.5, 9  # the name's box at 14px, bold
    candidates = []
    for away in (0, 30):  # next to the mark, or beyond markers around it
        right, up = 12 + away, 18 + away
        candidates += [
            (right, 0, "", (right, right + width, -half, half)),
            (-right, 0, " map__origin-label--left", (-right - width, -right, -half, half)),
            (0, -up, " map__origin-label--middle", (-width / 2, width / 2, -up - half, -up + half)),
            (0, up, " map__origin-label--middle", (-width / 2, width / 2, up - half, up + half)),
        ]

    def covered(box) -> int:
        left, right, top, bottom = ox + box[0], ox + box[1], oy + box[2], oy + box[3]
        outside = left < 0 or top < 0 or right > spec.width or bottom > spec.height
        reach = spec.pin
        hits = sum(
            1
            for p in placed
            if left - reach < p.shown_x < right + reach and top - reach < p.shown_y < bottom + reach
        )
        return hits + 100 * outside

    x, y, anchor, _box = min(candidates, key=lambda c: covered(c[3]))
    return x, y, anchor


def _marker(p: _Placed, spec: Size, has_links: bool) -> str:
    """One marker, as short as it can be (twenty of them are on a page): the styles come
    from .map__markers in site.css, the CSS scales the shapes around the marker's place."""
    marker = p.marker
    number = "" if marker.number is None else str(marker.number)
    name = f"{number}: {marker.label}" if number else marker.label
    if not number:
        shape = f'<circle class="map__plain" r="{_number(spec.pin * 0.8)}"/>'
    else:  # wider from three digits on
        shape = f'<circle r="{_number(spec.pin + max(len(number) - 2, 0) * 2.5)}"/>'
    text = f'<text dy=".35em">{escape(number)}</text>' if number else ""
    pin = f'<g transform="translate({_number(p.shown_x)} {_number(p.shown_y)})">{shape}{text}</g>'
    url = _safe_url(marker.url)
    if url:
        return f'<a href="{escape(url)}" aria-label="{escape(name)}">{pin}</a>'
    if has_links:  # among links: an image with its name
        return f'<g role="img" aria-label="{escape(name)}">{pin}</g>'
    return pin  # inside role="img": the title names it all


# --- Markers from the directory ---------------------------------------------------------------


def result_markers(cards: Sequence, *, start: int = 1, origin=None) -> list[Marker]:
    """The markers of a page of specialist cards (directory.search.lists.Card, or anything
    with `pk`), numbered from `start` as the list is: each at the specialist's place of work
    at a published clinic, the one nearest the searched place if there is one, else the
    primary one. No query for the cards rendered in this request (their places are loaded
    with them) nor for those whose markers are cached beside them (under the card's key, which
    a change to any listing retires); one for any others."""
    from django.core.cache import cache

    from directory.search import keys

    around = "" if origin is None else f"{origin.latitude:.5f},{origin.longitude:.5f}"
    cache_keys = {
        card.pk: f"{card.cache_key}:marker:{around}"
        for card in cards
        if getattr(card, "cache_key", "")
    }
    found = cache.get_many(list(cache_keys.values())) if cache_keys else {}
    places = {pk: found[key] for pk, key in cache_keys.items() if key in found}
    fresh = {}
    for card in cards:
        if card.pk not in places and _loaded_places(card) is not None:
            fresh[card.pk] = _place(_loaded_places(card), origin)
    missing = [card.pk for card in cards if card.pk not in places and card.pk not in fresh]
    if missing:
        fresh.update(_result_places(missing, origin))
    if fresh:
        places.update(fresh)
        new = {cache_keys[pk]: place for pk, place in fresh.items() if pk in cache_keys}
        cache.set_many(new, keys.cache_seconds())
    return [
        Marker(number, *places[card.pk])
        for number, card in enumerate(cards, start=start)
        if places.get(card.pk)
    ]


def _loaded_places(card) -> list[tuple] | None:
    """The card's places as _result_places reads them, if rendering the card loaded them with
    their coordinates (directory.search.lists: public_affiliations), else None."""
    specialist = getattr(card, "specialist", None)
    affiliations = getattr(specialist, "public_affiliations", None)
    if affiliations is None:
        return None
    rows = []
    for affiliation in affiliations:
        location = affiliation.location
        if {"latitude", "longitude"} & location.get_deferred_fields():
            return None
        if location.latitude is not None and location.longitude is not None:
            rows.append(
                (
                    specialist.pk,
                    specialist.slug,
                    specialist.honorific_prefix,
                    specialist.given_name,
                    specialist.family_name,
                    location.latitude,
                    location.longitude,
                    location.city,
                )
            )
    return rows


def _place(rows: list[tuple], origin) -> tuple | None:
    """(latitude, longitude, label, url) for the map from a specialist's places (rows as
    _result_places reads them, primary first): the nearest to the origin, or the first."""
    if not rows:
        return None
    if origin is not None:
        rows = sorted(rows, key=lambda row: _km(origin, row[5], row[6]))
    _pk, slug, prefix, given, family, latitude, longitude, city = rows[0]
    name = " ".join(part for part in (prefix, given, family) if part)
    url = reverse("directory:specialist", kwargs={"slug": slug})
    return latitude, longitude, f"{name}, {city}" if city else name, url


def _result_places(pks: list[int], origin) -> dict[int, tuple | None]:
    """The place on the map of each specialist (see _place), or None when none of their
    published places has coordinates. One query."""
    from directory.models import Affiliation, Status

    rows = (
        Affiliation.objects.filter(specialist_id__in=pks, clinic__status=Status.PUBLISHED)
        .exclude(location__latitude=None)
        .exclude(location__longitude=None)
        .order_by("-is_primary", "id")
        .values_list(
            "specialist_id",
            "specialist__slug",
            "specialist__honorific_prefix",
            "specialist__given_name",
            "specialist__family_name",
            "location__latitude",
            "location__longitude",
            "location__city",
        )
    )
    candidates: dict[int, list[tuple]] = {pk: [] for pk in pks}
    for row in rows:
        candidates[row[0]].append(row)
    return {pk: _place(found, origin) for pk, found in candidates.items()}


def _km(origin, latitude: float, longitude: float) -> float:
    """Roughly how far a point is from the origin (enough to pick the nearest of a few)."""
    dx = (longitude - origin.longitude) * math.cos(math.radians(origin.latitude))
    return math.hypot(dx, latitude - origin.latitude) * KM_PER_DEGREE


def location_markers(items: Iterable) -> list[Marker]:
    """The markers of a listing's locations: Location objects (a clinic's page: the clinic's
    own page needs no link) or Affiliations (a profile: each links to its clinic). Numbered
    when there are several. No query when the locations (and clinics) are loaded with them."""
    found = []
    for item in items:
        location = getattr(item, "location", item)
        if location.latitude is None or location.longitude is None:
            continue
        clinic = getattr(item, "clinic", None) if item is not location else None
        if clinic is not None:
            label, url = f"{clinic.name}, {location.city}", clinic.get_absolute_url()
        else:
            where = location.name or location.street
            label, url = (f"{where}, {location.city}" if where else location.city), ""
        found.append((location, label, url))
    numbered = len(found) > 1
    return [
        Marker(
            n if numbered else None,
            location.latitude,
            location.longitude,
            label,
            url,
            location.country,
        )
        for n, (location, label, url) in enumerate(found, start=1)
    ]
