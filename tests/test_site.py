"""Site-wide behaviour: languages, health check, robots.txt and the error pages."""

import html
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from core import languages

pytestmark = pytest.mark.django_db


def test_root_redirects_a_german_browser_to_the_german_site(german_client):
    response = german_client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/de/"


@pytest.mark.parametrize(
    ("accept", "prefix"), [("fr-CH,fr;q=0.9", "/fr/"), ("it-CH,it;q=0.9", "/it/")]
)
def test_root_redirects_french_and_italian_browsers_to_their_site(accept, prefix):
    assert Client(headers={"accept-language": accept}).get("/")["Location"] == prefix


def test_root_redirects_other_browsers_to_the_english_site():
    response = Client(headers={"accept-language": "ja-JP,ja;q=0.9"}).get("/")

    assert response["Location"] == "/en/"


@pytest.mark.parametrize(
    ("path", "lang", "text"),
    [
        ("/en/", "en", "How this directory works"),
        ("/de/", "de", "So funktioniert dieses Verzeichnis"),
        ("/fr/", "fr", "Comment fonctionne cet annuaire"),
        ("/it/", "it", "Come funziona questo elenco"),
    ],
)
def test_home_page_speaks_the_language_of_its_prefix(client, path, lang, text):
    response = client.get(path)

    assert response.status_code == 200
    assert f'<html lang="{lang}">' in response.text
    assert text in response.text


def test_language_switch_links_to_the_same_page_in_each_language(client):
    response = client.get("/en/?q=leber")

    for code in languages.codes():
        assert f'href="/{code}/?q=leber" hreflang="{code}"' in response.text


def test_home_page_query_count_is_pinned(client, django_assert_num_queries):
    """Fields and featured conditions; nothing from the layout. Then from the cache."""
    with django_assert_num_queries(2):
        client.get("/en/")
    with django_assert_num_queries(0):
        client.get("/en/")


def test_home_page_browses_by_field_country_and_condition(client):
    from tests.factories import ConditionFactory, SpecialtyFactory

    SpecialtyFactory(name_en="Cardiology", name_de="Kardiologie", slug="cardiology")
    ConditionFactory(name_en="Liver metastases", name_de="Lebermetastasen", slug="lm")
    body = client.get("/de/").content.decode()
    assert 'href="/de/specialties/cardiology/">Kardiologie</a>' in body
    assert 'href="/de/conditions/lm/">Lebermetastasen</a>' in body
    assert 'href="/de/specialists/?country=AT">Österreich</a>' in body
    assert 'name="city"' in body


def test_healthz_says_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.text == "ok"


def test_healthz_answers_503_when_the_database_does_not(client):
    saved = {key: connection.settings_dict.get(key) for key in ("HOST", "PORT")}
    connection.settings_dict.update(HOST="127.0.0.1", PORT="9")  # nothing listens there
    try:
        response = client.get("/healthz")
    finally:
        connection.settings_dict.update(saved)

    assert response.status_code == 503


def test_robots_txt_keeps_crawlers_out_of_admin(client):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "Disallow: /admin/" in response.text


def test_unknown_page_gives_the_404_page_in_german(client):
    response = client.get("/de/gibt-es-nicht/")

    assert response.status_code == 404
    assert "Seite nicht gefunden" in response.text


def test_a_database_outage_gives_the_friendly_503_page():
    client = Client(raise_request_exception=False)
    with mock.patch("content.views.render", side_effect=OperationalError("server closed")):
        response = client.get("/de/")

    assert response.status_code == 503
    assert "Kurz nicht erreichbar" in response.text
    assert "Traceback" not in response.text


def test_any_other_error_gives_the_500_page_without_details():
    client = Client(raise_request_exception=False)
    with mock.patch("content.views.render", side_effect=ValueError("secret detail")):
        response = client.get("/en/")

    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "secret detail" not in response.text


# Each error page's heading and first paragraph (templates/<status>.html).
ERROR_PAGES = {
    "400": (
        "We could not read this request",
        "The address or the form contains characters or values that we cannot process. Please "
        "go back and check what you entered.",
    ),
    "403": (
        "Please send the form again",
        "We could not confirm that the form came from this website, so nothing was sent. This "
        "happens when a page was open for a long time or when your browser blocks cookies for "
        "this site.",
    ),
    "404": (
        "Page not found",
        "We could not find this page. It may have moved, or the listing may no longer be "
        "published.",
    ),
    "500": (
        "Something went wrong",
        "An error on our side stopped this page. We have been told about it. Please try again in "
        "a few minutes.",
    ),
    "503": (
        "Briefly unavailable",
        "The directory cannot reach its database at the moment. Nothing you sent is lost. Please "
        "try again in a minute.",
    ),
}


@pytest.mark.parametrize("language", ["en", "de", "fr", "it"])
def test_the_error_pages_speak_the_language_of_the_address(language):
    """tests/test_outage.py: the 503 page of a real outage, in French and Italian too."""
    client = Client(raise_request_exception=False)
    pages = {
        "400": client.get(f"/{language}/", HTTP_HOST="10.0.0.5:8000"),  # a host not served
        "403": Client(enforce_csrf_checks=True).post(f"/{language}/specialists/", {}),
        "404": client.get(f"/{language}/nothing-here/"),
    }
    with mock.patch("content.views.render", side_effect=ValueError("secret detail")):
        pages["500"] = client.get(f"/{language}/")
    with mock.patch("content.views.render", side_effect=OperationalError("server closed")):
        pages["503"] = client.get(f"/{language}/")

    for status, response in pages.items():
        heading, paragraph = ERROR_PAGES[status]
        with translation.override(language):
            shown = gettext(heading), gettext(paragraph)
        if language != "en":
            assert shown != (heading, paragraph), f"{status} is not translated"
        assert response.status_code == int(status)
        text = html.unescape(response.text)
        assert f'<html lang="{language}">' in text
        assert f"<h1>{shown[0]}</h1>" in text
        assert shown[1] in text


def test_security_headers_are_sent(client):
    response = client.get("/en/")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/en/", "/healthz", "/en/specialists/?q=x", "/robots.txt"])
def test_head_requests_get_the_headers_of_get_and_no_body(client, path):
    got = client.get(path)
    head = client.head(path)

    assert head.status_code == got.status_code
    assert head.content == b""
    assert head["Content-Type"] == got["Content-Type"]
    assert int(head["Content-Length"]) == len(got.content)


def test_the_search_pages_have_no_second_search_box_in_the_header(client):
    assert 'id="header-q"' in client.get("/en/").text
    assert 'id="header-q"' in client.get("/en/conditions/").text
    for path in ("/en/specialists/", "/de/clinics/"):
        text = client.get(path).text
        assert 'id="header-q"' not in text
        assert text.count('role="search"') == 1
