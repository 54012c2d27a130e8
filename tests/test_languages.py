"""Every public page type in each of the site's languages (settings.LANGUAGES): the status a
patient gets, `<html lang>` in the page's language, the language switch and the hreflang
alternates naming every language, the browser's language chosen at /, the language the
structured data says a text is in, a text not yet translated shown in English with its `lang`
and a note, and no interface string left in English on a French, German or Italian page.

The HTML checker reads the same pages in every language (tests/test_html_validity.py), axe does
in a browser (tests/browser/test_languages.py); og:locale, the hreflang links of the other pages
and the sitemaps in every language are held in tests/test_seo.py and tests/test_pages.py."""

import json
import re
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client
from django.utils import translation

from content.models import Page
from core import languages
from directory.models import Clinic, Specialist
from tests.test_html_validity import error_pages, every_page, forms_with_errors  # noqa: F401
from tests.test_seo import Head, head, site  # noqa: F401 - the fixtures

pytestmark = pytest.mark.django_db

CODES = languages.codes()
TRANSLATED = [code for code in CODES if code != settings.LANGUAGE_CODE]

NOTE = {
    "fr": "Ce texte n’est pas encore disponible en français. Il est affiché en anglais.",
    "it": "Questo testo non è ancora disponibile in italiano. È mostrato in inglese.",
    "de": "Dieser Text ist noch nicht auf Deutsch verfügbar. Er wird auf Englisch angezeigt.",
}


def in_language(url: str, code: str) -> str:
    """`url` (a path with its language prefix, and maybe a query) in the language `code`."""
    return re.sub(r"^/[a-z]{2}/", f"/{code}/", url)


def language_switch(html: str) -> list[tuple[str, str, str]]:
    """(href, hreflang, lang) of each link of the header's language switch."""
    nav = re.search(r'<nav class="language-switch"[^>]*>(.*?)</nav>', html, re.S)
    assert nav, "no language switch"
    return re.findall(r'<a href="([^"]+)" hreflang="([^"]+)" lang="([^"]+)"', nav.group(1))


def page_problems(url: str, language: str, response, status: int) -> list[str]:
    """What is wrong with one page as a reader of `language` gets it."""
    problems = []
    if response.status_code != status:
        return [f"{url}: status {response.status_code}, not {status}"]
    html = response.content.decode()
    if f'<html lang="{language}">' not in html:
        problems.append(f"{url}: not <html lang={language}>")
    switch = language_switch(html)
    expected = [(in_language(response.request["PATH_INFO"], code), code, code) for code in CODES]
    query = response.request.get("QUERY_STRING")
    if query:
        expected = [(f"{href}?{query}", code, lang) for href, code, lang in expected]
    if [(href.replace("&amp;", "&"), code, lang) for href, code, lang in switch] != expected:
        problems.append(f"{url}: language switch {switch}")
    tags = Head()
    tags.feed(html)
    alternates = tags.hreflang()
    if sorted(alternates) != sorted([*CODES, "x-default"]):
        problems.append(f"{url}: hreflang alternates {sorted(alternates)}")
    canonical = tags.canonical().removeprefix("http://testserver")
    for code in CODES:
        if alternates.get(code) != f"http://testserver{in_language(canonical, code)}":
            problems.append(f"{url}: hreflang {code} is {alternates.get(code)}")
    unprefixed = re.sub(r"^/[a-z]{2}/", "/", canonical)
    if alternates.get("x-default") != f"http://testserver{unprefixed}":
        problems.append(f"{url}: x-default is {alternates.get('x-default')}")
    return problems


# --- Every page type in every language ------------------------------------------------------------


@pytest.mark.parametrize("language", CODES)
def test_every_page_type_answers_in_its_language_and_links_the_others(
    client,
    every_page,  # noqa: F811
    language,
):
    problems = []
    for page, status in every_page:
        url = page.format(lang=language)
        problems += page_problems(url, language, client.get(url), status)
    for page, data in forms_with_errors(every_page):
        url = page.format(lang=language)
        problems += page_problems(f"POST {url}", language, client.post(url, data), 400)

    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("language", CODES)
def test_the_error_pages_speak_the_language_of_the_address(language):
    for name, response in error_pages(language):
        html = response.content.decode()
        assert response.status_code == int(name)
        assert f'<html lang="{language}">' in html
        with translation.override(language):
            heading = {
                "500": translation.gettext("Something went wrong"),
                "503": translation.gettext("Briefly unavailable"),
            }[name]
        assert f"<h1>{heading}</h1>" in html


# --- The language chosen at / ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "location"),
    [
        ("fr-CH,fr;q=0.9", "/fr/"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "/fr/"),
        ("it", "/it/"),
        ("it-CH,it;q=0.9,de;q=0.8", "/it/"),
        ("de-AT,de;q=0.9", "/de/"),
        ("en-US,en;q=0.9", "/en/"),
        ("ja-JP,ja;q=0.9", "/en/"),
        ("pt-BR,es;q=0.8", "/en/"),
    ],
)
def test_the_root_goes_to_the_browsers_language_else_english(accept, location):
    response = Client(headers={"accept-language": accept}).get("/")

    assert response.status_code == 302
    assert response["Location"] == location


def test_an_address_without_language_goes_to_the_browsers_language(site):  # noqa: F811
    client = Client(headers={"accept-language": "it-CH,it;q=0.9"})

    response = client.get("/specialists/lena-aurich/")

    assert response["Location"] == "/it/specialists/lena-aurich/"


# --- Structured data ------------------------------------------------------------------------------


def json_ld(client, url: str, schema_type: str) -> dict:
    return head(client, url).of_type(schema_type)


def test_structured_data_names_the_language_the_article_is_really_in(client, site):  # noqa: F811
    """The demo article of `site` is written in English and German only."""
    for language, shown in (("en", "en"), ("de", "de"), ("fr", "en"), ("it", "en")):
        url = f"/{language}/conditions/liver-metastases/"
        assert json_ld(client, url, "MedicalWebPage")["inLanguage"] == shown, url

    article = site.specialist.conditions.get().article
    article.title_fr = "Métastases hépatiques"
    article.summary_fr = "Ce qu’elles sont et comment on les traite."
    article.body_fr = "## Qu’est-ce que c’est?\n\nTexte.\n"
    article.save()

    assert json_ld(client, "/fr/conditions/liver-metastases/", "MedicalWebPage")["inLanguage"] == (
        "fr"
    )
    assert json_ld(client, "/it/conditions/liver-metastases/", "MedicalWebPage")["inLanguage"] == (
        "en"
    )


def test_structured_data_of_a_site_page_names_the_language_of_its_text(client, demo_pages):
    for language in CODES:
        data = json_ld(client, f"/{language}/privacy/", "WebPage")
        assert data["inLanguage"] == language
    page = Page.objects.get(kind="privacy")
    page.title_it = page.summary_it = page.body_it = ""
    page.save()

    assert json_ld(client, "/it/privacy/", "WebPage")["inLanguage"] == "en"


# --- A text not yet translated --------------------------------------------------------------------


# The position of the specialist of `site` in every language, so that only the text a test is
# about may fall back (the factory writes it in the active language only).
WRITTEN_IN_EVERY_LANGUAGE = {
    "headline_en": "Senior consultant",
    "headline_de": "Oberärztin",
    "headline_fr": "Cheffe de clinique",
    "headline_it": "Capoclinica",
}


def fallback_parts(html: str, marker: str) -> tuple[str | None, bool]:
    """The `lang` of the innermost element with one around `marker`'s text (None if only the
    page's <html> has one), and whether a translation note is on the page."""
    before = html[: html.index(marker, html.index("<main"))]
    for opening in reversed(list(re.finditer(r"<(\w+)([^>]*)>", before))):
        tag, lang = opening.group(1), re.search(r'\slang="([^"]+)"', opening.group(2))
        between = before[opening.end() :]
        still_open = len(re.findall(rf"</{tag}>", between)) < 1 + len(
            re.findall(rf"<{tag}[\s>]", between)
        )
        if lang and still_open:
            return (None if tag == "html" else lang.group(1)), 'class="translation-note"' in html
    raise AssertionError("no <html lang>")


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_biography_in_english_only_is_shown_in_english_with_a_note(client, site, language):  # noqa: F811
    Specialist.objects.filter(pk=site.specialist.pk).update(
        biography_en="Trained in Leipzig and Basel.",
        **{f"biography_{code}": "" for code in TRANSLATED},
    )

    html = client.get(f"/{language}/specialists/lena-aurich/").content.decode()

    assert fallback_parts(html, "Trained in Leipzig and Basel.") == ("en", True)
    assert f'<p class="translation-note">{NOTE[language]}</p>' in html


def test_a_biography_written_in_french_has_no_note(client, site):  # noqa: F811
    Specialist.objects.filter(pk=site.specialist.pk).update(
        biography_en="Trained in Leipzig and Basel.",
        biography_fr="Formée à Leipzig et à Bâle.",
        **WRITTEN_IN_EVERY_LANGUAGE,
    )

    french = client.get("/fr/specialists/lena-aurich/").content.decode()
    italian = client.get("/it/specialists/lena-aurich/").content.decode()

    assert fallback_parts(french, "Formée à Leipzig et à Bâle.") == (None, False)
    assert "Trained in Leipzig" not in french
    assert fallback_parts(italian, "Trained in Leipzig and Basel.") == ("en", True)


def test_a_biography_in_german_only_is_shown_in_german_on_the_french_page(client, site):  # noqa: F811
    Specialist.objects.filter(pk=site.specialist.pk).update(
        biography_en="", biography_de="Ausgebildet in Leipzig und Basel."
    )

    html = client.get("/fr/specialists/lena-aurich/").content.decode()

    assert fallback_parts(html, "Ausgebildet in Leipzig und Basel.") == ("de", True)
    assert "Ce texte n’est pas encore disponible en français. Il est affiché en allemand." in html


def test_a_clinic_description_in_english_only_is_shown_with_a_note(client, site):  # noqa: F811
    Clinic.objects.filter(pk=site.clinic.pk).update(
        description_en="A teaching hospital by the park.",
        **{f"description_{language}": "" for language in TRANSLATED},
    )
    for language in TRANSLATED:
        html = client.get(f"/{language}/clinics/klinikum-stadtpark/").content.decode()
        assert fallback_parts(html, "A teaching hospital by the park.") == ("en", True)
        assert NOTE[language] in html

    clinic = Clinic.objects.get(pk=site.clinic.pk)
    clinic.description_fr = "Un hôpital près du parc."
    clinic.save()
    html = client.get("/fr/clinics/klinikum-stadtpark/").content.decode()
    assert fallback_parts(html, "Un hôpital près du parc.") == (None, False)


@pytest.mark.parametrize("language", ["fr", "it"])
def test_an_article_in_english_only_marks_title_summary_and_body(client, site, language):  # noqa: F811
    html = client.get(f"/{language}/conditions/liver-metastases/").content.decode()

    assert re.search(r'<h1 id="article-title" lang="en">Liver metastases</h1>', html)
    assert '<p class="lead" lang="en">What they are and how they are treated.</p>' in html
    assert re.search(r'<div class="prose" lang="en">', html)
    # Under the heading, and where the article's text begins (the page's jump link leads there).
    note = f'<p class="translation-note">{NOTE[language]}</p>'
    assert html.count(note) == 2
    assert html.index(note) < html.index('<p class="lead" lang="en">')
    article = html.index('<article class="article"')
    assert article < html.index(note, article) < html.index('<div class="prose" lang="en">')


def test_an_article_written_in_french_has_no_note_on_the_french_page(client, site):  # noqa: F811
    article = site.specialist.conditions.get().article
    article.title_fr = "Métastases hépatiques"
    article.summary_fr = "Ce qu’elles sont et comment on les traite."
    article.body_fr = "## Qu’est-ce que c’est?\n\nTexte.\n"
    article.reviewer_credentials_fr = "spécialiste en oncologie"
    article.save()
    Specialist.objects.filter(pk=site.specialist.pk).update(**WRITTEN_IN_EVERY_LANGUAGE)

    html = client.get("/fr/conditions/liver-metastases/").content.decode()

    assert '<h1 id="article-title">Métastases hépatiques</h1>' in html
    assert 'lang="en"' not in html.split("<main", 1)[1].split("</main>", 1)[0]
    assert 'class="translation-note"' not in html


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_site_page_not_yet_translated_is_shown_in_english_with_a_note(
    client, demo_pages, language
):
    english = Page.objects.get(kind="privacy")
    Page.objects.filter(kind="privacy").update(
        **{f"{field}_{language}": "" for field in ("title", "summary", "body", "body_html")}
    )

    html = client.get(f"/{language}/privacy/").content.decode()

    assert f'<h1 id="page-title" lang="en">{english.title_en}</h1>' in html
    assert f'<p class="lead" lang="en">{english.summary_en}</p>' in html
    assert html.count(f'<p class="translation-note">{NOTE[language]}</p>') == 1
    assert re.search(r'<div class="prose" lang="en">\s*<p>This policy explains how', html)
    # The contents: the box with the operator's details in the page's language, then the
    # English text's headings.
    contents = re.search(r'<nav class="toc".*?</nav>', html, re.S).group()
    items = re.findall(r"<li [^>]*>", contents)
    assert 'lang="en"' not in items[0]
    assert len(items) > 5
    assert all('lang="en"' in item for item in items[1:])
    with translation.override(language):
        assert f">{translation.gettext('Who is responsible for your data')}</a>" in contents


def test_a_translated_site_page_has_no_note_and_no_english(client, demo_pages):
    for language in CODES:
        html = client.get(f"/{language}/contact/").content.decode()
        main = html.split("<main", 1)[1].split("</main>", 1)[0]
        assert 'class="translation-note"' not in main
        assert not re.search(r'\slang="', main.replace(f' lang="{language}"', ""))


# --- No interface string left in English ----------------------------------------------------------

# Attributes a reader hears or sees (data-msg-*: what the search suggestions' live region says).
READ_ATTRIBUTES = {"aria-label", "alt", "title", "placeholder", "aria-description"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Texts(HTMLParser):
    """The strings a reader of a page meets: its text, the attributes read out, the meta
    descriptions and the structured data; leaving out every element marked with another
    language than the page's (a text shown in English as a fallback, the language switch)."""

    def __init__(self, language: str):
        super().__init__()
        self.language = language
        self.texts: list[str] = []
        self._other = None  # (tag, depth) of the element in another language we are inside
        self._script = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._other:
            if tag == self._other[0]:
                self._other = (tag, self._other[1] + 1)
            return
        lang = attrs.get("lang")
        if lang and lang != self.language and tag != "html":
            if tag not in VOID:
                self._other = (tag, 1)
            return
        if tag in {"script", "style"}:
            self._script = attrs.get("type") if tag == "script" else "style"
        for name, value in attrs.items():
            if value and (name in READ_ATTRIBUTES or name.startswith("data-msg")):
                self.texts.append(value)
        kind = attrs.get("name") or attrs.get("property") or ""
        if (
            tag == "meta"
            and attrs.get("content")
            and kind.endswith(("description", "title", "site_name"))
        ):
            self.texts.append(attrs["content"])
        if tag == "input" and attrs.get("type") in {"submit", "button"} and attrs.get("value"):
            self.texts.append(attrs["value"])

    def handle_endtag(self, tag):
        if self._other:
            if tag == self._other[0]:
                depth = self._other[1] - 1
                self._other = (tag, depth) if depth else None
            return
        if tag in {"script", "style"}:
            self._script = None

    def handle_data(self, data):
        if self._other:
            return
        if self._script == "application/ld+json":
            self.texts += list(_names(json.loads(data)))
        elif self._script is None:
            self.texts.append(data)


def _names(value):
    """The names and descriptions in structured data (not its types, addresses and codes)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in {"name", "description"} and isinstance(item, str):
                yield item
            else:
                yield from _names(item)
    elif isinstance(value, list):
        for item in value:
            yield from _names(item)


def texts_of(html: str, language: str) -> list[str]:
    parser = Texts(language)
    parser.feed(html)
    return [" ".join(text.split()) for text in parser.texts if text.strip()]


PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[sd]")


def _pattern(msgid: str) -> tuple[str, re.Pattern] | None:
    """The longest piece of the message's own text and a pattern of the message as it is
    rendered, its placeholders standing for any text; None for a message with too little text
    of its own to be told from other words."""
    parts = PLACEHOLDER.split(" ".join(msgid.split()))
    if sum(char.isalpha() for part in parts for char in part) < 4 or "<" in msgid:
        return None
    if re.fullmatch(r"[a-z]+", msgid):
        return None  # a model's or field's name, as the admin shows it: words any text may have
    parts = [part.replace("%%", "%") for part in parts]
    body = ".+?".join(re.escape(part) for part in parts)
    return max(parts, key=len), re.compile(rf"(?<!\w){body}(?!\w)")


class Catalogue:
    """The messages of the catalogue of `language`: `checked`, (msgid, its longest piece of
    text, pattern) of each whose translation is not the English text itself (each form of a
    plural); `same`, the texts translated by the same words ("Contact", the name "Specialist
    Atlas"), longest first."""

    def __init__(self, language: str):
        path = settings.BASE_DIR / "locale" / language / "LC_MESSAGES" / "django.po"
        with open(path, "rb") as file:
            catalogue = read_po(file)
        self.checked, same = [], set()  # (msgid, longest piece, pattern)
        for message in catalogue:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            for msgid in ids:
                if msgid in strings:
                    if not PLACEHOLDER.search(msgid):
                        same.add(" ".join(msgid.split()))
                elif (pattern := _pattern(msgid)) is not None:
                    self.checked.append((msgid, *pattern))
        self.same = sorted(same, key=len, reverse=True)

    def without_same_words(self, text: str) -> str:
        """`text` without the messages that are the same in both languages, so that "Specialist
        Atlas" is not taken for an untranslated "Specialist"."""
        for words in self.same:
            text = text.replace(words, "\n")
        return text

    def shown(self, text: str) -> list[str]:
        """The messages `text` shows."""
        text = self.without_same_words(text)
        return [
            msgid
            for msgid, piece, pattern in self.checked
            if piece in text and pattern.search(text)
        ]

    def untranslated(self, english: str, text: str) -> list[str]:
        """The messages the English `english` shows that `text` still shows in English."""
        return sorted(set(self.shown(english)) & set(self.shown(text)))


def test_the_message_patterns_match_the_rendered_text():
    piece, pattern = _pattern("%(km)s km from %(place)s")
    assert piece == " km from "
    assert pattern.search("Cardiology · 3.2 km from Erfurt")
    assert not pattern.search("3,2 km de Erfurt")
    assert _pattern("Yes") is None  # too short to tell from other words
    assert _pattern("specialists") is None  # a model's name, as the admin shows it
    assert _pattern("Search")[1].search("Search")
    assert not _pattern("Search")[1].search("Searches")


def test_the_text_parser_leaves_out_what_is_marked_as_another_language():
    html = (
        '<html lang="fr"><head><title>Titre</title><meta name="description" content="Résumé">'
        '</head><body><p>Un <span lang="en">text <span>in English</span> only</span> fin</p>'
        '<input type="search" placeholder="par ex."><div lang="en"><div>Other</div></div>'
        '<a hreflang="de" lang="de" href="/de/">Deutsch</a><p lang="fr">Encore</p></body></html>'
    )

    assert texts_of(html, "fr") == ["Titre", "Résumé", "Un", "fin", "par ex.", "Encore"]


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_interface_string_is_left_in_english(client, every_page, language, settings):  # noqa: F811
    """Each message that the English rendering of a page shows must not be on the same page in
    `language`, unless its translation is the same words."""
    # The operator's address is the settings' text, the same in every language.
    settings.OPERATOR_ADDRESS = ["Prüfweg 7", "10115 Berlin"]
    catalogue = Catalogue(language)
    english = settings.LANGUAGE_CODE
    found = []
    requests = [(page, None) for page, _status in every_page] + forms_with_errors(every_page)
    for page, data in requests:
        texts = {}
        for code in (english, language):
            url = page.format(lang=code)
            response = client.post(url, data) if data is not None else client.get(url)
            texts[code] = "\n".join(texts_of(response.content.decode(), code))
        assert catalogue.shown(texts[english]), page
        found += [
            f"{page.format(lang=language)}: {msgid!r}"
            for msgid in catalogue.untranslated(texts[english], texts[language])
        ]
    for name, response in error_pages(language):
        text = "\n".join(texts_of(response.content.decode(), language))
        found += [f"{name} page: {msgid!r}" for msgid in catalogue.untranslated(text, text)]

    assert found == [], "\n".join(found)
