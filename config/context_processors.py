from django.conf import settings
from django.http import HttpRequest
from django.urls import translate_url
from django.utils.translation import get_language


def site(request: HttpRequest) -> dict:
    """Links to the current page in every language, for the language switch and hreflang, and
    the page without a language prefix (x-default: it redirects by the browser's language)."""
    current = get_language()
    path = request.get_full_path()
    prefix = f"/{current}/"
    return {
        "x_default_url": "/" + path[len(prefix) :] if path.startswith(prefix) else path,
        "language_links": [
            {
                "code": code,
                "name": name,
                "url": translate_url(path, code),
                "is_current": code == current,
            }
            for code, name in settings.LANGUAGES
        ],
    }
