"""{{ moment|slot_time }}: an appointment time as patients read it, in the site's time zone and
the page's language: "Tue 3 Dec, 09:40", "Di., 3. Dez., 09:40"."""

from babel.dates import format_skeleton, format_time
from django import template
from django.utils import timezone, translation

register = template.Library()

# British English: day before month, 24-hour clock.
_LOCALES = {"en": "en_GB"}


def _locale() -> str:
    language = translation.get_language() or "en"
    return _LOCALES.get(language, language)


@register.filter
def slot_day(moment) -> str:
    """The day alone: "Tue 3 Dec"."""
    if moment is None:
        return ""
    return format_skeleton("MMMEd", timezone.localtime(moment), locale=_locale())


@register.filter
def slot_clock(moment) -> str:
    """The time of day alone: "09:40"."""
    if moment is None:
        return ""
    return format_time(timezone.localtime(moment), "HH:mm", locale=_locale())


@register.filter
def slot_time(moment) -> str:
    if moment is None:
        return ""
    return f"{slot_day(moment)}, {slot_clock(moment)}"
