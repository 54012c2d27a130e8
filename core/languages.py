"""The site's languages (settings.LANGUAGES) and the columns django-modeltranslation gives each
translated field (name_en, name_de, name_fr, name_it)."""

from babel import Locale
from django.conf import settings
from django.urls import translate_url
from django.utils import translation


def codes() -> tuple[str, ...]:
    """The site's language codes, English (the default and the fallback) first."""
    return tuple(code for code, _name in settings.LANGUAGES)


def columns(*fields: str) -> list[str]:
    """Every language's column of each field: columns("name") == ["name_en", "name_de", ...]."""
    return [f"{field}_{code}" for field in fields for code in codes()]


def current() -> str:
    """The active language if the site has it, else the default."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    return language if language in codes() else settings.LANGUAGE_CODE


def _reader(row):
    """Reads a column of an object or of a dict of columns."""
    return row.get if isinstance(row, dict) else lambda column: getattr(row, column, "")


def shown_language(row, field: str, language: str | None = None) -> str:
    """The language a translated field is read in: the page's (the active one by default) if
    it has the text, else the first fallback that has it (English, then German), else ""; `row`
    is an object or a dict of columns."""
    read = _reader(row)
    for code in (language or current(), *settings.MODELTRANSLATION_FALLBACK_LANGUAGES):
        if read(f"{field}_{code}"):
            return code
    return ""


def in_language(row, field: str, language: str | None = None) -> str:
    """A translated field's text in the language (the active one by default), else in the
    fallback languages' order; `row` is an object or a dict of columns."""
    code = shown_language(row, field, language)
    return _reader(row)(f"{field}_{code}") if code else ""


def name(code: str, language: str | None = None) -> str:
    """The name of the language `code` as written mid-sentence in `language` (default: the
    active one): "French", "Französisch", "français", "francese"."""
    locale = Locale.parse(language or current())
    return locale.languages.get(code, code)


def translated_path(path: str, code: str) -> str:
    """`path` (with its query) in the language `code`. Django's translate_url knows only the
    pages it can resolve; an address it cannot (the 404 page's) gets the other language's
    prefix all the same, so the language switch of every page leads to that language."""
    url = translate_url(path, code)
    prefix = f"/{current()}/"
    if url == path and code != current() and path.startswith(prefix):
        return f"/{code}/{path.removeprefix(prefix)}"
    return url


def side_by_side(field: str) -> tuple[str, ...]:
    """A field's columns as one admin row, so that editors see the languages side by side."""
    return tuple(columns(field))
