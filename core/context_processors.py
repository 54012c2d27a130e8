from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_language

from core.languages import translated_path

# Open Graph locales: the country each language's readers are most often in, as Open Graph
# knows no language without a territory.
OG_LOCALES = {"en": "en_GB", "de": "de_DE", "fr": "fr_CH", "it": "it_CH"}


def site(request: HttpRequest) -> dict:
    """Links to the current page in every language, for the language switch (with the query,
    so a search stays a search)."""
    current = get_language()
    path = request.get_full_path()
    return {
        "language_links": [
            {
                "code": code,
                "name": name,
                "url": translated_path(path, code),
                "is_current": code == current,
                "og_locale": OG_LOCALES.get(code, code),
            }
            for code, name in settings.LANGUAGES
        ],
    }
