"""The maps of search results and listings (directory/maps.py, directory/templatetags/maps.py):
outlines from the committed Natural Earth data, numbered markers that link to the listings,
the searched place with its radius, valid SVG without style attributes."""

import json
import math
import re
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

from directory import maps
from directory.maps import Marker, render_map
from directory.search.geo import Origin
from tests.factories import AffiliationFactory, ClinicFactory, LocationFactory, SpecialistFactory

SVG = "{http://www.w3.org/2000/svg}"
BERLIN = (52.52, 13.405)
MUNICH = (48.137, 11.575)
ZURICH = (47.377, 8.541)
VIENNA = (48.208, 16.372)


def origin(name="Berlin", at=BERLIN) -> Origin:
    return Origin("town", name.lower(), (("en", name), ("de", name)), "DE", "16", *at)


def marker(number, at=BERLIN, label="Dr. Anna Weber, Berlin", url=None) -> Marker:
    return Marker(number, *at, label, f"/en/specialists/person-{number}/" if url is None else url)


def draw(markers=(), **options) -> str:
    options = {"language": "en", "title": "Map of the specialists on this page", **options}
    return render_map(list(markers), **options)


def svg_of(html: str) -> ElementTree.Element:
    """The map's <svg>, parsed as XML (which fails on anything malformed)."""
    root = ElementTree.fromstring(html)  # noqa: S314 - our own markup: the <div class="map">
    assert root.tag == "div"
    (svg,) = root
    assert svg.tag == f"{SVG}svg"
    return svg


def links(svg) -> list[ElementTree.Element]:
    return svg.findall(f".//{SVG}a")


def scattered(count: int) -> list[Marker]:
    """`count` markers around Berlin, within about 20 km."""
    return [
        marker(n, (BERLIN[0] + 0.1 * math.sin(n), BERLIN[1] + 0.15 * math.cos(n * 1.7)))
        for n in range(1, count + 1)
    ]


# --- The outlines ----------------------------------------------------------------------------


def test_the_outline_file_holds_the_three_countries_and_liechtenstein():
    data = json.loads(maps.OUTLINES.read_text(encoding="utf-8"))
    assert [country["id"] for country in data["countries"]] == ["DE", "AT", "CH", "LI"]
    assert "Natural Earth" in data["source"]
    assert maps.OUTLINES.stat().st_size < 60_000
    for country in data["countries"]:
        assert country["polygons"]
        for polygon in country["polygons"]:
            for ring in polygon:
                assert len(ring) >= 4
                assert ring[0] == ring[-1], "rings are closed"
                for lon, lat in ring:
                    assert 5.5 < lon < 17.5
                    assert 45.5 < lat < 55.5
                    assert round(lon, 4) == lon
                    assert round(lat, 4) == lat


def test_the_outlines_know_which_country_a_city_is_in():
    def country(at):
        return [c.id for c in maps.countries() if c.contains(at[1], at[0])]

    assert country(BERLIN) == ["DE"]
    assert country(VIENNA) == ["AT"]
    assert country(ZURICH) == ["CH"]
    assert country((47.141, 9.521)) == ["LI"]  # Vaduz
    assert country((48.857, 2.352)) == []  # Paris


def test_the_licence_is_documented_next_to_the_data():
    readme = (maps.OUTLINES.parent / "README.md").read_text(encoding="utf-8")
    assert "Natural Earth" in readme
    assert "public domain" in readme
    assert "make map-data" in readme


def test_the_site_reads_the_outlines_from_the_repository_not_node_modules():
    source = (settings.BASE_DIR / "directory/maps.py").read_text(encoding="utf-8")
    assert "node_modules" not in source
    assert maps.OUTLINES.is_relative_to(settings.BASE_DIR / "directory")


# --- Rendering -------------------------------------------------------------------------------


def test_without_markers_the_map_shows_the_whole_area_and_has_no_links():
    html = draw()
    svg = svg_of(html)
    assert links(svg) == []
    assert svg.get("role") == "img"
    assert svg.get("viewBox") == "0 0 640 560"
    assert (svg.get("width"), svg.get("height")) == ("640", "560")
    title = svg.find(f"{SVG}title")
    assert title.text == "Map of the specialists on this page"
    assert svg.get("aria-labelledby") == title.get("id")
    countries = [p.get("class") for p in svg.iter(f"{SVG}path")]
    assert countries == [f"map__country map__country--{c}" for c in ("de", "at", "ch", "li")]


def test_one_marker_is_a_link_with_its_number_and_accessible_name():
    svg = svg_of(draw([marker(3)]))
    (link,) = links(svg)
    assert link.get("href") == "/en/specialists/person-3/"
    assert link.get("aria-label") == "3: Dr. Anna Weber, Berlin"
    assert link.find(f".//{SVG}text").text == "3"
    assert svg.get("role") == "group"  # it holds links: a named group, not an image
    assert svg.find(f"{SVG}title").text == "Map of the specialists on this page"


def test_one_marker_is_not_alone_on_a_blank_canvas():
    """The view zooms in, but never closer than about 30 km across."""
    size = maps.SIZES["large"]
    view = maps.choose_view(size, [(BERLIN[1], BERLIN[0])])
    whole = maps.fit(maps.dach_bounds(), size)
    assert view.scale > whole.scale
    narrowest = min(size.width, size.height) - 2 * size.padding
    assert narrowest / view.scale == pytest.approx(30)  # the padding adds a little more


def test_twenty_markers_are_twenty_links_in_the_order_of_the_list():
    svg = svg_of(draw(scattered(20)))
    found = links(svg)
    assert len(found) == 20
    assert [a.find(f".//{SVG}text").text for a in found] == [str(n) for n in range(1, 21)]
    assert [a.get("aria-label") for a in found] == [
        f"{n}: Dr. Anna Weber, Berlin" for n in range(1, 21)
    ]


def test_a_number_of_three_digits_gets_a_wider_marker():
    svg = svg_of(draw([marker(7), marker(107, MUNICH)]))
    narrow, wide = (float(circle.get("r")) for circle in svg.iter(f"{SVG}circle"))
    assert wide > narrow


def test_berlin_lies_inside_germany_on_the_whole_map():
    view = maps.fit(maps.dach_bounds(), maps.SIZES["large"])
    germany = next(c for c in maps.countries() if c.id == "DE")
    west, south, east, north = germany.bounds
    left, top = view.project(west, north)
    right, bottom = view.project(east, south)
    x, y = view.project(BERLIN[1], BERLIN[0])
    assert left < x < right
    assert top < y < bottom
    # North-east of Germany's middle, as on any map.
    assert x > (left + right) / 2
    assert y < (top + bottom) / 2
    # Munich is south of Berlin, Zurich west of Vienna.
    assert view.project(MUNICH[1], MUNICH[0])[1] > y
    assert view.project(ZURICH[1], ZURICH[0])[0] < view.project(VIENNA[1], VIENNA[0])[0]


def test_the_marker_is_drawn_where_the_projection_puts_it():
    html = draw([marker(1, MUNICH), marker(2, VIENNA), marker(3, ZURICH), marker(4, BERLIN)])
    view = maps.choose_view(
        maps.SIZES["large"], [(at[1], at[0]) for at in (MUNICH, VIENNA, ZURICH, BERLIN)]
    )
    x, y = view.project(BERLIN[1], BERLIN[0])
    assert f'<g transform="translate({maps._number(x)} {maps._number(y)})">' in html


def test_the_map_zooms_to_the_markers_and_the_radius():
    size = maps.SIZES["large"]
    whole = maps.fit(maps.dach_bounds(), size)
    view = maps.choose_view(size, [(BERLIN[1], BERLIN[0])], (BERLIN[1], BERLIN[0], 25))
    assert view.scale > 5 * whole.scale
    # The whole circle is in view.
    rx, ry = view.radii(BERLIN[0], 25)
    x, y = view.project(BERLIN[1], BERLIN[0])
    assert x - rx >= 0
    assert x + rx <= size.width
    assert y - ry >= 0
    assert y + ry <= size.height
    # Markers all over the area: the whole area.
    spread = [(at[1], at[0]) for at in (BERLIN, ZURICH, VIENNA, (54.3, 10.1), (47.1, 6.9))]
    assert maps.choose_view(size, spread) == whole


def test_the_searched_place_and_its_radius_are_drawn():
    html = draw(scattered(5), origin=origin(), radius_km=25)
    svg = svg_of(html)
    (ellipse,) = svg.iter(f"{SVG}ellipse")
    assert ellipse.get("class") == "map__radius"
    (mark,) = (g for g in svg.iter(f"{SVG}g") if g.get("class") == "map__origin")
    assert mark.get("aria-hidden") == "true"
    assert mark.find(f".//{SVG}text").text == "Berlin"
    # The ellipse is centred on the place's mark, and 25 km are 25 km north-south.
    assert f"translate({ellipse.get('cx')} {ellipse.get('cy')})" == mark.get("transform")
    view = maps.choose_view(
        maps.SIZES["large"],
        [(m.longitude, m.latitude) for m in scattered(5)] + [(BERLIN[1], BERLIN[0])],
        (BERLIN[1], BERLIN[0], 25),
    )
    assert float(ellipse.get("ry")) == pytest.approx(25 * view.scale, abs=0.1)
    # The view is centred near Berlin, so the circle is round there.
    assert float(ellipse.get("rx")) == pytest.approx(float(ellipse.get("ry")), rel=0.01)
    assert len(links(svg)) == 5


def test_the_radius_is_an_ellipse_away_from_the_views_middle_latitude():
    view = maps.fit(maps.dach_bounds(), maps.SIZES["large"])
    rx_north, ry_north = view.radii(54.0, 100)
    rx_south, ry_south = view.radii(46.5, 100)
    assert ry_north == ry_south
    assert rx_north > ry_north  # a degree of longitude is shorter in the north
    assert rx_south < ry_south


def test_without_a_place_no_radius_is_drawn():
    svg = svg_of(draw(scattered(3), radius_km=25))
    assert list(svg.iter(f"{SVG}ellipse")) == []
    assert "map__origin" not in ElementTree.tostring(svg, encoding="unicode")


def test_markers_outside_the_area_or_without_coordinates_are_not_drawn():
    """A decision: they are left out, not moved to the edge (that would show a wrong place);
    the others keep their numbers, and the view is as if they were not there."""
    markers = [
        marker(1, BERLIN),
        marker(2, (48.857, 2.352)),  # Paris
        marker(3, (40.713, -74.006)),  # New York
        Marker(4, None, None, "No coordinates", "/en/specialists/x/"),
        Marker(5, math.nan, 10.0, "Not a number", "/en/specialists/y/"),
        marker(6, MUNICH),
    ]
    svg = svg_of(draw(markers))
    assert [a.get("aria-label").split(":")[0] for a in links(svg)] == ["1", "6"]
    assert draw(markers, title="t", map_id="m") == draw(
        [markers[0], markers[5]], title="t", map_id="m"
    )
    # A place outside the area is not drawn either, nor its radius.
    svg = svg_of(draw([marker(1)], origin=origin("Paris", (48.857, 2.352)), radius_km=25))
    assert list(svg.iter(f"{SVG}ellipse")) == []


def test_markers_at_the_same_spot_stay_readable():
    same = [marker(n, MUNICH) for n in range(1, 5)]
    html = draw([*same, marker(5, BERLIN)])
    positions = [
        tuple(map(float, re.search(r"translate\(([-\d.]+) ([-\d.]+)\)", pin).groups()))
        for pin in re.findall(r"<a .*?</a>", html)
    ]
    assert len(set(positions)) == 5
    r = maps.SIZES["large"].pin
    for i, a in enumerate(positions[:4]):
        for b in positions[i + 1 : 4]:
            assert math.dist(a, b) >= 2 * r, "the markers of one spot do not overlap"
    svg = svg_of(html)
    paths = {p.get("class"): p.get("d") for p in svg.iter(f"{SVG}path")}
    assert paths["map__leader"].count("L") == 4  # a line from each to the spot
    assert paths["map__spot"].count("h0") == 1  # the spot's dot


def test_labels_and_titles_are_escaped():
    evil = '<script>alert("x")</script> & "Dr." <b>'
    html = draw([marker(1, label=evil)], title=f"Map {evil}", origin=origin(evil))
    assert "<script" not in html
    assert "<b>" not in html
    svg = svg_of(html)  # still well-formed
    assert links(svg)[0].get("aria-label") == f"1: {evil}"
    assert svg.find(f"{SVG}title").text == f"Map {evil}"


def test_only_page_addresses_become_links():
    markers = [
        marker(1, url="javascript:alert(1)"),
        marker(2, MUNICH, url="data:text/html,<p>x</p>"),
        marker(3, ZURICH, url="https://atlas.example/en/specialists/x/"),
    ]
    svg = svg_of(draw(markers))
    assert [a.get("href") for a in links(svg)] == ["https://atlas.example/en/specialists/x/"]
    # Those without a link are named images among the links.
    images = [g for g in svg.iter(f"{SVG}g") if g.get("role") == "img"]
    assert [g.get("aria-label") for g in images] == [
        "1: Dr. Anna Weber, Berlin",
        "2: Dr. Anna Weber, Berlin",
    ]


@pytest.mark.parametrize("size", ["large", "small"])
def test_no_style_attributes_anywhere(size):
    html = draw(scattered(12), origin=origin(), radius_km=10, size=size)
    assert "style=" not in html
    assert "<style" not in html
    for element in svg_of(html).iter():
        assert "style" not in element.attrib


def test_the_map_scales_to_its_box_without_layout_shift():
    for size, spec in maps.SIZES.items():
        svg = svg_of(draw([marker(1)], size=size))
        assert svg.get("viewBox") == f"0 0 {spec.width} {spec.height}"
        assert svg.get("width") == str(spec.width)
        assert svg.get("height") == str(spec.height)
    css = (settings.BASE_DIR / "static/css/site.css").read_text(encoding="utf-8")
    assert re.search(r"\.map__svg \{[^}]*width: 100%;[^}]*height: auto;", css)


def test_the_zoom_script_is_small_and_only_for_large_maps():
    script = settings.BASE_DIR / "static/js/map.js"
    assert script.stat().st_size < 3 * 1024
    assert "data-map" in draw([marker(1)])
    assert "data-map" not in draw([marker(1)], size="small")
    with translation.override("de"):
        assert 'data-zoom-in="Zoom in"' in draw([marker(1)])  # the map's own language
    assert 'data-zoom-in="Vergrößern"' in draw([marker(1)], language="de")


def test_two_maps_on_one_page_have_their_own_ids():
    first = svg_of(draw([marker(1)]))
    second = svg_of(draw([marker(1, MUNICH)]))
    assert first.get("id") != second.get("id")
    assert first.find(f"{SVG}title").get("id") != second.find(f"{SVG}title").get("id")
    assert svg_of(draw([marker(1)], map_id="results")).get("id") == "results"


def points_of(path_data: str) -> list[tuple[int, int]]:
    """The absolute points of path data in the map's form: "M x y l dx dy dx dy ... z"."""
    points = []
    for start, steps in re.findall(r"M(-?\d+ -?\d+)l([^z]*)z", path_data):
        x, y = map(int, start.split())
        points.append((x, y))
        numbers = [int(n) for n in re.findall(r"-?\d+", steps)]
        for dx, dy in zip(numbers[::2], numbers[1::2], strict=True):
            x, y = x + dx, y + dy
            points.append((x, y))
    return points


def test_outlines_are_cut_to_the_view():
    """Zoomed into Berlin, Germany is one box a little larger than the view; Austria and
    Switzerland are not sent at all."""
    svg = svg_of(draw([marker(1)]))
    (germany,) = svg.iter(f"{SVG}path")
    assert germany.get("class") == "map__country map__country--de"
    assert sorted(set(points_of(germany.get("d")))) == [(-4, -4), (-4, 564), (644, -4), (644, 564)]


def test_outlines_follow_the_borders_on_the_whole_map():
    view = maps.fit(maps.dach_bounds(), maps.SIZES["large"])
    paths = dict(maps.outline_paths(view))
    assert list(paths) == ["DE", "AT", "CH", "LI"]
    germany = points_of(paths["DE"])
    xs, ys = zip(*germany, strict=True)
    west, south, east, north = next(c for c in maps.countries() if c.id == "DE").bounds
    assert (min(xs), min(ys)) == pytest.approx(tuple(map(round, view.project(west, north))), abs=1)
    assert (max(xs), max(ys)) == pytest.approx(tuple(map(round, view.project(east, south))), abs=1)


def test_the_map_is_light_enough_for_the_search_pages_budget():
    """The search page must stay within 60 KB with its map (make bench): the outlines of the
    whole area and twenty markers with long names come to well under 10 KB."""
    assert len(draw()) < 3_500
    markers = [
        Marker(
            n,
            46 + (n * 0.37) % 8,
            6.5 + (n * 0.73) % 10,
            f"Prof. Dr. med. Maximiliane Musterfrau-Beispiel{n}, Garmisch-Partenkirchen",
            f"/en/specialists/maximiliane-musterfrau-beispiel-{n}/",
        )
        for n in range(101, 121)
    ]
    assert len(draw(markers, origin=origin(), radius_km=500)) < 9_000


def test_a_small_map_shows_the_country_around_its_place():
    html = draw([Marker(None, *ZURICH, "Hauptstrasse 1, Zürich")], size="small")
    svg = svg_of(html)
    assert svg.get("viewBox") == "0 0 320 240"
    assert svg.get("role") == "img"  # no link: one image, named by its title
    assert links(svg) == []
    # All of Switzerland is in view, and the marker is a pin without a number.
    view = maps.choose_view(maps.SIZES["small"], [(ZURICH[1], ZURICH[0])], None, {"CH"})
    west, south, east, north = next(c for c in maps.countries() if c.id == "CH").bounds
    x0, y0 = view.project(west, north)
    x1, y1 = view.project(east, south)
    assert x0 >= 0
    assert x1 <= 320
    assert y0 >= 0
    assert y1 <= 240
    assert "map__plain" in html
    assert "<text" not in html


# --- Template tags ---------------------------------------------------------------------------


def render(source: str, **context) -> str:
    return Template("{% load maps %}" + source).render(Context(context))


def test_results_map_tag_draws_the_markers_the_place_and_the_radius():
    html = render(
        "{% results_map markers place radius %}",
        markers=scattered(2),
        place=origin(),
        radius=25,
    )
    svg = svg_of(html)
    assert svg.find(f"{SVG}title").text == "Map of the 2 specialists on this page"
    assert len(links(svg)) == 2
    assert len(list(svg.iter(f"{SVG}ellipse"))) == 1


def test_results_map_tag_says_how_many_are_on_the_map_and_speaks_german():
    markers = [marker(1), marker(2, (48.857, 2.352)), marker(3, MUNICH)]
    html = render("{% results_map markers %}", markers=markers)
    assert "Map of 2 of the 3 specialists on this page" in html
    with translation.override("de"):
        html = render("{% results_map markers %}", markers=[marker(1), marker(2)])
    assert "Karte der 2 Fachärztinnen und Fachärzte auf dieser Seite" in html
    assert 'data-reset="Zurücksetzen"' in html


def test_results_map_tag_counts_the_results_without_a_marker():
    """A specialist with no place of work at a published clinic has a card but no marker."""
    html = render("{% results_map markers total=5 %}", markers=[marker(1), marker(2)])
    assert "Map of 2 of the 5 specialists on this page" in html


def test_results_map_tag_draws_nothing_without_a_marker_to_show():
    assert render("{% results_map markers place 25 %}", markers=[], place=origin()) == ""
    assert render("{% results_map markers %}", markers=[marker(1, (0.0, 0.0))]) == ""


def test_results_map_tag_ignores_the_radius_without_a_place():
    html = render("{% results_map markers None 25 %}", markers=[marker(1)])
    assert "<ellipse" not in html


def test_place_map_tag_for_a_clinic_and_for_a_profile():
    clinic = SimpleNamespace(name="Klinikum <Stadtpark>", get_absolute_url=lambda: "/en/c/k/")
    here = SimpleNamespace(
        name="", street="Parkweg 2", city="Erfurt", country="DE", latitude=50.98, longitude=11.03
    )
    there = SimpleNamespace(
        name="Haus B", street="", city="Jena", country="DE", latitude=50.93, longitude=11.59
    )
    nowhere = SimpleNamespace(
        name="", street="X", city="Y", country="DE", latitude=None, longitude=None
    )

    one = render("{% place_map locations %}", locations=[here, nowhere])
    svg = svg_of(one)
    assert svg.find(f"{SVG}title").text == "Map of the location: Parkweg 2, Erfurt"
    assert svg.get("role") == "img"
    assert "map--small" in one

    two = svg_of(render("{% place_map locations %}", locations=[here, there]))
    assert two.find(f"{SVG}title").text == "Map of the 2 locations"
    assert [t.text for t in two.iter(f"{SVG}text")] == ["1", "2"]

    affiliations = [SimpleNamespace(location=here, clinic=clinic)]
    profile = svg_of(render("{% place_map affiliations %}", affiliations=affiliations))
    (link,) = links(profile)
    assert link.get("href") == "/en/c/k/"
    assert link.get("aria-label") == "Klinikum <Stadtpark>, Erfurt"

    assert render("{% place_map locations %}", locations=[nowhere]) == ""


@pytest.mark.django_db
def test_result_markers_follow_the_cards_in_one_query(django_assert_num_queries):
    near = LocationFactory(city="Potsdam", latitude=52.39, longitude=13.06)
    far = LocationFactory(city="München", latitude=MUNICH[0], longitude=MUNICH[1])
    anna = SpecialistFactory(honorific_prefix="Dr.", given_name="Anna", family_name="Weber")
    AffiliationFactory(specialist=anna, location=far, is_primary=True)
    AffiliationFactory(specialist=anna, location=near, is_primary=False)
    ben = SpecialistFactory(honorific_prefix="", given_name="Ben", family_name="Kranz")
    AffiliationFactory(
        specialist=ben, location=LocationFactory(clinic=ClinicFactory(status="draft"))
    )
    cards = [SimpleNamespace(pk=anna.pk), SimpleNamespace(pk=ben.pk)]

    with django_assert_num_queries(1):
        markers = maps.result_markers(cards, start=21)
    # Anna: number 21, at her primary place; Ben works only at a draft clinic: no marker.
    assert markers == [
        Marker(21, *MUNICH, "Dr. Anna Weber, München", f"/en/specialists/{anna.slug}/")
    ]
    # Around Berlin, her place nearest to it.
    (nearest,) = maps.result_markers(cards, start=21, origin=origin())
    assert nearest.label == "Dr. Anna Weber, Potsdam"
    assert maps.result_markers([]) == []


@pytest.mark.django_db
def test_result_markers_are_cached_beside_the_cards(django_assert_num_queries):
    anna = AffiliationFactory(specialist__family_name="Weber").specialist
    cards = [SimpleNamespace(pk=anna.pk, cache_key=f"search:test:en:card:{anna.pk}:")]
    with django_assert_num_queries(1):
        first = maps.result_markers(cards)
    with django_assert_num_queries(0):
        assert maps.result_markers(cards) == first
    with django_assert_num_queries(1):  # around a place: its own entry
        maps.result_markers(cards, origin=origin())


@pytest.mark.django_db
def test_the_snippet_for_the_search_page_works_with_its_listing(client, django_assert_num_queries):
    """What the search template will include, rendered here with the page's own listing."""
    berlin = LocationFactory(city="Berlin", latitude=BERLIN[0], longitude=BERLIN[1])
    for family in ("Adler", "Berg"):
        AffiliationFactory(specialist=SpecialistFactory(family_name=family), location=berlin)

    response = client.get("/en/specialists/?city=Berlin&radius=10")
    listing = response.context["listing"]
    with django_assert_num_queries(0):  # the places were loaded with the cards
        html = render(
            "{% result_markers listing as markers %}"
            "{% results_map markers listing.place listing.radius %}",
            listing=listing,
        )
    svg = svg_of(html)
    assert svg.find(f"{SVG}title").text == "Map of the 2 specialists on this page"
    assert [a.get("aria-label") for a in links(svg)] == [
        "1: Dr. med. Erika Adler, Berlin",
        "2: Dr. med. Erika Berg, Berlin",
    ]
    assert svg.find(f".//{SVG}text[@class='map__origin-label']").text == "Berlin"
    assert len(list(svg.iter(f"{SVG}ellipse"))) == 1
