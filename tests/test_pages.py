"""The site's own pages: privacy policy, legal notice, contact and editorial policy. Editors
write them in admin, in each of the site's languages, with every version kept; the operator's
facts come from the settings; every page links to them, and the request form links to the
privacy policy."""

import io
import json
import re
from html import unescape
from xml.etree import ElementTree

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.text import Truncator
from django.utils.timezone import localdate
from reversion.models import Version

from content.demo import load_demo_pages
from content.facts import fill
from content.models import Page
from core import languages
from tests.factories import AffiliationFactory
from tests.test_seo import head

pytestmark = pytest.mark.django_db

KINDS = ["privacy", "legal-notice", "contact", "editorial-policy"]

# Each page in each language: its title and a sentence of the demo text.
DEMO = {
    ("privacy", "en"): ("Privacy policy", "on the basis of your explicit consent"),
    ("privacy", "de"): ("Datenschutzerklärung", "ausdrücklichen Einwilligung"),
    ("legal-notice", "en"): ("Legal notice", "Not medical advice"),
    ("legal-notice", "de"): ("Impressum", "Keine ärztliche Beratung"),
    ("contact", "en"): ("Contact", "Mistakes in a listing"),
    ("contact", "de"): ("Kontakt", "Fehler in einem Eintrag"),
    ("editorial-policy", "en"): (
        "Editorial policy",
        "then those who list it among their first three",
    ),
    ("editorial-policy", "de"): ("Redaktionelle Grundsätze", "unter ihren ersten dreien"),
    ("privacy", "fr"): (
        "Déclaration de protection des données",
        "sur la base de votre consentement exprès",
    ),
    ("privacy", "it"): ("Informativa sulla protezione dei dati", "sulla base del Suo consenso"),
    ("legal-notice", "fr"): ("Mentions légales", "Pas un avis médical"),
    ("legal-notice", "it"): ("Note legali", "Nessuna consulenza medica"),
    ("contact", "fr"): ("Contact", "Erreur dans une fiche"),
    ("contact", "it"): ("Contatto", "Errori in una scheda"),
    ("editorial-policy", "fr"): ("Principes rédactionnels", "d’abord un nom correspondant"),
    ("editorial-policy", "it"): ("Principi redazionali", "prima un nome corrispondente"),
}


def text_of(response) -> str:
    """The page's text without tags and scripts (structured data carries timestamps whose
    digits could be anything), with entities decoded and spaces collapsed."""
    html = re.sub(r"<script\b.*?</script>", " ", response.content.decode(), flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", unescape(text))


@pytest.fixture
def pages(demo_pages):
    return {page.kind: page for page in Page.objects.all()}


# --- The pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", languages.codes())
@pytest.mark.parametrize("kind", KINDS)
def test_each_page_is_shown_in_every_language(client, pages, kind, language):
    title, sentence = DEMO[(kind, language)]

    response = client.get(f"/{language}/{kind}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert f'<html lang="{language}">' in body
    assert f'<h1 id="page-title">{title}</h1>' in body
    assert f"<title>{title} – " in body
    assert sentence in text_of(response)
    assert 'class="translation-note"' not in body  # written in every language
    # The date of the last change, in the page's language.
    modified = localdate(pages[kind].modified).isoformat()
    with translation.override(language):
        label = translation.gettext("Last updated:")
    assert label != "Last updated:" or language == "en"
    assert re.search(rf'{re.escape(label)} <time datetime="{modified}">', body)
    # No placeholder is left unfilled.
    assert not re.search(r"\{[a-z_]+\}", text_of(response))


@pytest.mark.parametrize("kind", KINDS)
def test_a_page_that_was_not_created_is_404(client, kind):
    assert client.get(f"/en/{kind}/").status_code == 404


def test_the_url_names_and_paths_are_the_same_in_every_language(pages):
    from django.urls import reverse

    for kind in KINDS:
        for language in languages.codes():
            with translation.override(language):
                assert reverse(f"content:{kind}") == f"/{language}/{kind}/"
        assert pages[kind].get_absolute_url() == f"/en/{kind}/"


@pytest.mark.parametrize("kind", KINDS)
def test_each_page_has_canonical_hreflang_description_breadcrumbs_and_web_page(client, pages, kind):
    tags = head(client, f"/de/{kind}/")

    assert tags.canonical() == f"http://testserver/de/{kind}/"
    assert tags.hreflang() == {
        **{code: f"http://testserver/{code}/{kind}/" for code in languages.codes()},
        "x-default": f"http://testserver/{kind}/",
    }
    assert tags.meta["description"] == Truncator(pages[kind].summary_de).chars(160)
    crumbs = tags.of_type("BreadcrumbList")["itemListElement"]
    assert [crumb["name"] for crumb in crumbs] == ["Start", pages[kind].title_de]
    page_type = "ContactPage" if kind == "contact" else "WebPage"
    data = tags.of_type(page_type)
    assert data["inLanguage"] == "de"
    assert data["url"] == f"http://testserver/de/{kind}/"
    assert data["dateModified"] == pages[kind].modified.isoformat()
    assert data["publisher"]["name"] == "Atlas Test Operator GmbH"


# --- The operator's facts -------------------------------------------------------------------


def test_the_contact_page_shows_the_operator_from_the_settings(client, pages, settings):
    settings.OPERATOR_NAME = "Praxisfinder & Söhne GmbH"
    settings.OPERATOR_ADDRESS = ["Hauptstraße 5", "8001 Zürich", "Switzerland"]
    settings.OPERATOR_EMAIL = "hello@praxisfinder.example"
    settings.OPERATOR_PHONE = "+41 44 000 00 00"
    settings.OPERATOR_REGISTER = "CHE-000.000.000"
    settings.PRIVACY_EMAIL = "dpo@praxisfinder.example"

    response = client.get("/en/contact/")

    body = response.content.decode()
    assert "<strong>Praxisfinder &amp; Söhne GmbH</strong><br>Hauptstraße 5<br>8001 Zürich" in body
    assert '<a href="mailto:hello@praxisfinder.example">' in body
    assert '<a href="tel:+41440000000">+41 44 000 00 00</a>' in body
    assert "CHE-000.000.000" in body
    assert '<a href="mailto:dpo@praxisfinder.example">' in body
    # The editors' text names the addresses through placeholders.
    text = text_of(response)
    assert "write to dpo@praxisfinder.example" in text
    assert "write to hello@praxisfinder.example" in text


def test_the_legal_notice_names_the_operator_and_the_emergency_number(client, pages):
    response = client.get("/de/legal-notice/")

    text = text_of(response)
    assert "Anbieter dieser Website" in text
    assert "Atlas Test Operator GmbH Prüfweg 7 10115 Berlin Germany" in text
    assert "Amtsgericht Charlottenburg, HRB 000000 B" in text
    assert "§ 18 Abs. 2 Medienstaatsvertrag (MStV): Atlas Test Operator GmbH" in text
    assert "Rufen Sie die 112 an" in text


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("en", "{} days after they arrive"),
        ("de", "{} Tage nach ihrem Eingang"),
        ("fr", "{} jours après leur réception"),
        ("it", "{} giorni dopo il loro arrivo"),
    ],
)
def test_the_privacy_policy_states_the_retention_period_from_the_settings(
    client, pages, settings, language, sentence
):
    settings.APPOINTMENT_RETENTION_DAYS = 97
    settings.FACT_REPORT_RETENTION_DAYS = 45

    text = text_of(client.get(f"/{language}/privacy/"))

    assert sentence.format(97) in text
    reports = {
        "en": "automatically 45 days after",
        "de": "beides 45 Tage nach dem Eingang",
        "fr": "les deux 45 jours après",
        "it": "entrambi automaticamente 45 giorni dopo",
    }
    assert reports[language] in text
    assert not re.search(r"\b180\b", text)  # the default period appears nowhere
    assert "privacy@atlas.example" in text


def test_an_unset_optional_fact_leaves_no_empty_line(client, pages, settings):
    settings.OPERATOR_PHONE = ""
    settings.OPERATOR_REGISTER = ""

    body = client.get("/en/legal-notice/").content.decode()

    assert "tel:" not in body
    assert "Register and VAT ID" not in body


def test_placeholders_are_filled_with_escaped_values_in_text_only(settings):
    settings.OPERATOR_NAME = '<script>alert("x")</script>'
    settings.PRIVACY_EMAIL = 'a"b@example.org'
    html = (
        "<p>{operator_name} and {privacy_email}, {unknown}.</p>"
        '<p><a href="https://example.org/" title="{operator_name}">{privacy_email}</a></p>'
    )

    filled = fill(html)

    assert "<script>" not in filled
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; and " in filled
    assert '<a href="mailto:a&quot;b@example.org">a&quot;b@example.org</a>, {unknown}.' in filled
    # Inside a tag nothing changes; inside a link the address stays text (no link in a link).
    assert 'title="{operator_name}">a&quot;b@example.org</a>' in filled


# --- Editing --------------------------------------------------------------------------------


def test_editors_edit_a_page_and_its_history_keeps_every_version(client, editor, pages):
    page = pages["privacy"]
    assert Version.objects.get_for_object(page).count() == 1  # as load_demo added it
    client.force_login(editor)
    form = client.get(f"/admin/content/page/{page.pk}/change/")
    assert form.status_code == 200

    response = client.post(
        f"/admin/content/page/{page.pk}/change/",
        {
            "title_en": "Privacy policy",
            "title_de": "Datenschutzerklärung",
            "summary_en": "A shorter summary.",
            "summary_de": "Eine kürzere Zusammenfassung.",
            "body_en": "## New\n\nWe keep requests for {retention_days} days.",
            "body_de": "## Neu\n\nWir bewahren Anfragen {retention_days} Tage auf.",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    page.refresh_from_db()
    assert (
        page.body_html_en
        == '<h2 id="new">New</h2>\n<p>We keep requests for {retention_days} days.</p>\n'
    )
    assert "A shorter summary." in client.get("/en/privacy/").content.decode()
    client.logout()
    assert "A shorter summary." in client.get("/en/privacy/").content.decode()  # not cached

    versions = Version.objects.get_for_object(page)
    assert versions.count() == 2
    assert versions.first().field_dict["summary_de"] == "Eine kürzere Zusammenfassung."
    client.force_login(editor)
    assert client.get(f"/admin/content/page/{page.pk}/history/").status_code == 200

    # Reverting brings the demo text back in both languages.
    versions.order_by("pk").first().revision.revert()
    page.refresh_from_db()
    assert "explicit consent" in page.body_html_en
    assert "ausdrücklichen Einwilligung" in page.body_html_de


def test_editors_may_not_delete_a_page_or_change_its_kind(client, editor, pages):
    client.force_login(editor)
    page = pages["contact"]

    assert client.get(f"/admin/content/page/{page.pk}/delete/").status_code == 403
    form = client.get(f"/admin/content/page/{page.pk}/change/").content.decode()
    assert 'name="kind"' not in form


def test_an_edited_page_is_shown_at_once_to_visitors(client, pages):
    page = pages["contact"]
    assert "Write to us" not in client.get("/en/contact/").content.decode()  # cached now

    page.summary_en = "Write to us."
    page.save()

    assert "Write to us." in client.get("/en/contact/").content.decode()


def test_an_editor_heading_never_gives_the_operator_box_the_same_id(client, pages):
    """Every id once on a page: the editors' heading "Operator details" and the box's heading."""
    import re

    page = pages["contact"]
    page.body_en = "## Operator details\n\nText.\n\n## Operator details box\n\nMore."
    page.save()

    body = client.get("/en/contact/").content.decode()
    ids = re.findall(r'\sid="([^"]+)"', body)
    assert "operator-details" in ids
    assert len(ids) == len(set(ids))
    box = re.search(r'<section class="prose" aria-labelledby="([^"]+)">\s*<h2 id="([^"]+)"', body)
    assert box
    assert box.group(1) == box.group(2) != "operator-details"


# --- The demo text --------------------------------------------------------------------------


def test_the_demo_pages_are_added_once_and_never_overwrite_an_editor(pages):
    page = pages["legal-notice"]
    page.title_en = "Imprint"
    page.save()

    assert load_demo_pages() == 0
    page.refresh_from_db()
    assert page.title_en == "Imprint"

    page.delete()
    assert load_demo_pages() == 1
    assert Page.objects.get(kind="legal-notice").title_en == "Legal notice"


def test_load_demo_and_load_pages_add_the_pages(db):
    call_command("load_pages", stdout=io.StringIO())
    assert Page.objects.count() == 4
    call_command("load_demo", stdout=io.StringIO())
    assert Page.objects.count() == 4


def test_the_demo_texts_use_only_known_placeholders_and_headings_in_every_language():
    from content.demo import PAGES, read_article
    from content.facts import PLACEHOLDERS

    for kind in KINDS:
        structure = {}
        for language in languages.codes():
            front, body = read_article(PAGES / f"{kind}.{language}.md")
            assert front["title"]
            assert len(front["summary"]) > 50
            assert set(re.findall(r"\{([a-z_]+)\}", body)) <= set(PLACEHOLDERS)
            structure[language] = re.findall(r"^(#+) ", body, re.M)
        assert all(shape == structure["en"] for shape in structure.values()), kind


# --- Links and the sitemap ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "names"),
    [
        ("en", ["Editorial policy", "Privacy policy", "Legal notice", "Contact"]),
        ("de", ["Redaktionelle Grundsätze", "Datenschutzerklärung", "Impressum", "Kontakt"]),
        (
            "fr",
            [
                "Principes rédactionnels",
                "Déclaration de protection des données",
                "Mentions légales",
                "Contact",
            ],
        ),
        (
            "it",
            [
                "Principi redazionali",
                "Informativa sulla protezione dei dati",
                "Note legali",
                "Contatto",
            ],
        ),
    ],
)
def test_the_footer_links_to_the_four_pages(client, language, names):
    body = client.get(f"/{language}/").content.decode()
    footer = body[body.index('<footer class="site-footer">') :]

    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', footer)
    for kind, name in zip(
        ["editorial-policy", "privacy", "legal-notice", "contact"], names, strict=True
    ):
        assert (f"/{language}/{kind}/", name) in links


def test_the_request_form_links_to_the_privacy_policy_beside_the_consent(client):
    AffiliationFactory(specialist__slug="anna-berg")

    body = client.get("/de/specialists/anna-berg/request/").content.decode()

    consent = body.index('name="consent"')
    link = re.search(r'<a href="/de/privacy/"[^>]*>([^<]+)</a>', body)
    assert link
    assert link.start() > consent
    assert link.group(1) == "Wie wir mit Ihren Daten umgehen (öffnet in einem neuen Tab)"
    assert link.start() < body.index('<button type="submit" class="button">', consent)


SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def test_the_sitemap_lists_the_pages_in_every_language_with_their_last_change(client, pages):
    index = client.get("/sitemap.xml").content.decode()
    assert "http://testserver/sitemap-about.xml" in index

    tree = ElementTree.fromstring(client.get("/sitemap-about.xml").content)  # noqa: S314
    urls = {
        url.find(f"{SITEMAP}loc").text: url.find(f"{SITEMAP}lastmod").text
        for url in tree.iter(f"{SITEMAP}url")
    }
    for kind in KINDS:
        for language in languages.codes():
            assert urls[f"http://testserver/{language}/{kind}/"] == (
                localdate(pages[kind].modified).isoformat()
            )


def test_the_sitemap_leaves_out_pages_that_do_not_exist(client):
    Page.objects.create(
        kind="contact",
        title_en="Contact",
        title_de="Kontakt",
        summary_en="S",
        summary_de="S",
        body_en="B",
        body_de="B",
    )

    text = client.get("/sitemap-about.xml").content.decode()

    assert "/en/contact/" in text
    assert "/privacy/" not in text


def test_the_operator_settings_are_json_safe_in_structured_data(client, pages, settings):
    settings.OPERATOR_NAME = "</script><script>alert(1)</script>"

    body = client.get("/en/privacy/").content.decode()

    assert "<script>alert(1)" not in body
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    assert any(
        json.loads(b).get("publisher", {}).get("name", "").startswith("</script>") for b in blocks
    )
