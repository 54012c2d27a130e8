"""{% open_status location %}: where a page says whether a practice is open now. It writes a
marker that the response fills in as it is served (directory.middleware), so a cached page or
card never holds a status."""

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def open_status(location, spans=None) -> str:
    """`spans`: the location's closures to come, where the query read them (closure_spans)."""
    if location is None:
        return ""
    return mark_safe(location.status_marker(spans))  # noqa: S308 - our own marker
