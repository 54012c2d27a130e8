"""A translated text the page's language lacks is shown in the fallback language (English, then
German): these tags mark it with its `lang` and say so to the reader.

    <h1{% text_lang article "title" %}>{{ article.title }}</h1>
    {% translation_note article "body" %}
"""

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from core import languages

register = template.Library()


def _fallback(obj, field: str) -> str:
    """The language the field is shown in when it is not the page's, else ""."""
    if obj is None:
        return ""
    shown = languages.shown_language(obj, field)
    return shown if shown and shown != languages.current() else ""


@register.simple_tag
def text_lang(obj, field: str) -> str:
    """` lang="en"` for an element whose text is shown in a fallback language, else nothing."""
    shown = _fallback(obj, field)
    return format_html(' lang="{}"', shown) if shown else ""


@register.simple_tag
def translation_note(obj, field: str) -> str:
    """A visible note when the field's text is not yet written in the page's language."""
    shown = _fallback(obj, field)
    if not shown:
        return ""
    text = _("This text is not yet available in %(language)s. It is shown in %(shown)s.") % {
        "language": languages.name(languages.current()),
        "shown": languages.name(shown),
    }
    return format_html('<p class="translation-note">{}</p>', text)
