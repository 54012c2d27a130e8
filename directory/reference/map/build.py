"""Builds dach.json, the outlines of the map (directory/maps.py), from Natural Earth's 1:50m
admin-0 countries as npm's `world-atlas` ships them (TopoJSON). Run by `make map-data`:

    python directory/reference/map/build.py [node_modules/world-atlas/countries-50m.json]

Reads the TopoJSON with the standard library: the arcs are delta-encoded and quantized, so each
is summed up and scaled back to degrees with the file's transform. Each arc is simplified once
(Douglas-Peucker), so a border shared by two countries stays the same line for both; then the
arcs are joined into rings. The output is committed; the site never reads node_modules.
"""

import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the project, for directory.simplify (no Django)

from directory.simplify import simplify  # noqa: E402 - after the path it needs

SOURCE = HERE.parents[2] / "node_modules/world-atlas/countries-50m.json"
TARGET = HERE / "dach.json"

# ISO 3166-1 numeric codes (the TopoJSON's ids) of the countries drawn, with their alpha-2 code.
COUNTRIES = {"276": "DE", "040": "AT", "756": "CH", "438": "LI"}
TOLERANCE = 0.005  # degrees of latitude (about 500 m): below a pixel of the whole-DACH map
DECIMALS = 3  # about 100 m; the source is quantized to 0.0036° of longitude anyway
# Longitudes are compared at this scale, so the tolerance means the same distance either way.
COS_LATITUDE = math.cos(math.radians(50.5))


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """The topology's arcs as (longitude, latitude) points."""
    (scale_x, scale_y), (shift_x, shift_y) = (
        topology["transform"]["scale"],
        topology["transform"]["translate"],
    )
    arcs = []
    for encoded in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in encoded:
            x, y = x + dx, y + dy
            points.append((x * scale_x + shift_x, y * scale_y + shift_y))
        arcs.append(points)
    return arcs


def ring(arc_indexes: list[int], arcs: list) -> list[list[float]]:
    """A closed ring from its arcs (a negative index is the arc ~i reversed), rounded, without
    repeated points."""
    points = []
    for index in arc_indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    rounded = []
    for lon, lat in points:
        point = [round(lon, DECIMALS), round(lat, DECIMALS)]
        if not rounded or point != rounded[-1]:
            rounded.append(point)
    return rounded


def build(source: Path) -> dict:
    topology = json.loads(source.read_text(encoding="utf-8"))
    arcs = [simplify(arc, TOLERANCE, COS_LATITUDE) for arc in decode_arcs(topology)]
    countries = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        code = COUNTRIES.get(geometry.get("id"))
        if code is None:
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        kept = []
        for polygon in polygons:
            rings = [ring(indexes, arcs) for indexes in polygon]
            rings = [r for r in rings if len(r) >= 4]  # a triangle and its closing point
            if rings:
                kept.append(rings)
        countries.append({"id": code, "name": geometry["properties"]["name"], "polygons": kept})
    countries.sort(key=lambda country: list(COUNTRIES.values()).index(country["id"]))
    return {
        "source": "Natural Earth 1:50m admin-0 countries (public domain), npm world-atlas 2.0.2",
        "simplified": f"Douglas-Peucker, {TOLERANCE} degrees",
        "countries": countries,
    }


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    data = build(source)
    TARGET.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    points = sum(len(r) for c in data["countries"] for p in c["polygons"] for r in p)
    size = TARGET.stat().st_size
    sys.stdout.write(f"{TARGET.name}: {len(data['countries'])} countries, {points} points, ")
    sys.stdout.write(f"{size:,} bytes\n")


if __name__ == "__main__":
    main()
