"""{{ moment|slot_time }}: an appointment time as patients read it, in the site's time zone and
the page's language: "Tue 3 Dec, 09:40", "Di., 3. Dez., 09:40"."""

from babel.dates import format_skeleton, format_time
from django import template
from django.utils import timezone, translation

register = template.Library()

# British English: day before month, 24-hour clock.
_LOCALES = {"en": "en_GB"}


@register.filter
def slot_time(moment) -> str:
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    language = translation.get_language() or "en"
    locale = _LOCALES.get(language, language)
    return f"{format_skeleton('MMMEd', local, locale=locale)}, {format_time(local, 'HH:mm', locale=locale)}"


@register.filter
def slot_day(moment) -> str:
    """The day alone: "Tue 3 Dec"."""
    if moment is None:
        return ""
    language = translation.get_language() or "en"
    return format_skeleton(
        "MMMEd", timezone.localtime(moment), locale=_LOCALES.get(language, language)
    )
