from django import template

from core.dashboard import entries_for

register = template.Library()


@register.simple_tag(takes_context=True)
def dashboard(context) -> list:
    """The dashboard's entries for the user of the page, with their counts."""
    return entries_for(context["request"].user)
