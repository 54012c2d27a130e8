"""Template tags for the maps (directory/maps.py):

    {% load maps %}
    {% result_markers listing as markers %}
    {% results_map markers listing.place listing.radius %}

    {% place_map specialist.affiliations.all %}   {# a profile: each marker links to its clinic #}
    {% place_map clinic.locations.all %}          {# a clinic: its locations #}

A map is drawn only when at least one marker has coordinates in the DACH area; otherwise the
tags render nothing. static/js/map.js (zoom and pan) is optional: the page loads it in its
head block.
"""

from django import template
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from directory import maps

register = template.Library()


@register.simple_tag
def result_markers(listing) -> list[maps.Marker]:
    """The markers of a SpecialistList's page of cards, numbered as the list is (one query)."""
    return maps.result_markers(listing.cards, start=listing.first_index, origin=listing.place)


@register.simple_tag
def results_map(markers, origin=None, radius=None, size="large", total=None):
    """The map of a page of results: `markers` (directory.maps.Marker, or objects with the same
    fields), the searched place (`origin`, e.g. listing.place, may be None) and the radius in km
    (drawn only around an origin). `total` is the number of results on the page when some have
    no marker (no place of work at a published clinic): the map's name counts them all."""
    drawn = sum(1 for m in markers if maps.in_area(m.latitude, m.longitude))
    if not drawn:
        return ""
    total = max(total or 0, len(markers))
    if drawn == total:
        title = ngettext(
            "Map of the %(count)s specialist on this page",
            "Map of the %(count)s specialists on this page",
            total,
        ) % {"count": total}
    else:
        title = ngettext(
            "Map of %(drawn)s of the %(count)s specialist on this page",
            "Map of %(drawn)s of the %(count)s specialists on this page",
            total,
        ) % {"drawn": drawn, "count": total}
    return maps.render_map(
        markers,
        origin=origin or None,
        radius_km=radius if origin else None,
        language=get_language() or "en",
        title=title,
        size=size,
    )


@register.simple_tag
def place_map(items, size="small"):
    """The map of a listing's locations: Locations or Affiliations (see
    directory.maps.location_markers), a small map of the countries they are in."""
    markers = [m for m in maps.location_markers(items) if maps.in_area(m.latitude, m.longitude)]
    if not markers:
        return ""
    if len(markers) == 1:
        title = _("Map of the location: %(place)s") % {"place": markers[0].label}
    else:
        title = ngettext(
            "Map of the %(count)s location", "Map of the %(count)s locations", len(markers)
        ) % {"count": len(markers)}
    return maps.render_map(markers, language=get_language() or "en", title=title, size=size)
