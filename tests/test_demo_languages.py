"""The demo data set in the site's four languages: every text of fixtures/demo.json and
fixtures/demo_specialists.csv that is written in English is written in German, French and Italian
too, and the loaded demo shows it; the demo article, its documents and the site's own pages are
loaded in every language, and a text still as the fixtures wrote it gets the languages it lacks
on a later load, while one an editor changed gets nothing added."""

import csv
import html
import json
from pathlib import Path

import pytest
import yaml
from django.utils import translation

from content.demo import ARTICLES, PAGES, load_demo_articles, load_demo_pages, read_article
from content.models import Article, Page
from core import languages
from directory.demo import load_demo_directory
from directory.models import Clinic, Condition, Specialist
from tests.factories import ConditionFactory

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
LANGUAGES = ("en", "de", "fr", "it")
OTHERS = LANGUAGES[1:]


def test_the_site_has_the_four_languages_checked_here():
    assert languages.codes() == LANGUAGES


# --- The fixtures ---------------------------------------------------------------------------


def demo() -> dict:
    return json.loads((FIXTURES / "demo.json").read_text(encoding="utf-8"))


def english_texts(node, where: str = ""):
    """(where, item, field) for every `<field>_en` with a text in demo.json, however deep."""
    if isinstance(node, list):
        for position, child in enumerate(node):
            label = child.get("slug", position) if isinstance(child, dict) else position
            yield from english_texts(child, f"{where}/{label}")
    elif isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("_en") and value:
                yield where, node, key.removesuffix("_en")
            yield from english_texts(value, f"{where}/{key}")


def test_the_walk_finds_every_kind_of_translated_text():
    """The check below reads these fields; if demo.json's shape changed, it would check none."""
    found = {(where.split("/")[1], field) for where, _item, field in english_texts(demo())}
    assert found == {
        ("specialties", "name"),
        ("conditions", "name"),
        ("conditions", "synonyms"),
        ("clinics", "description"),
        ("clinics", "opening_hours"),
        ("clinics", "title"),
    }


@pytest.mark.parametrize("language", OTHERS)
def test_every_text_of_demo_json_in_english_is_in_each_language(language):
    missing = [
        f"{where} {field}_{language}"
        for where, item, field in english_texts(demo())
        if not item.get(f"{field}_{language}")
    ]
    assert missing == []


@pytest.mark.parametrize("language", OTHERS)
def test_synonyms_are_lists_in_each_language(language):
    for item in demo()["conditions"]:
        synonyms = item[f"synonyms_{language}"]
        assert isinstance(synonyms, list), item["slug"]
        assert all(isinstance(name, str) and name.strip() == name != "" for name in synonyms)


@pytest.mark.parametrize("language", ["fr", "it"])
def test_the_demo_names_fields_and_conditions_as_the_reference_vocabulary_does(language):
    """Where a slug is in directory/reference too, French and Italian have its names there."""
    data = demo()
    for kind in ("specialties", "conditions"):
        reference = yaml.safe_load((ROOT / "directory" / "reference" / f"{kind}.yaml").read_text())
        names = {entry["slug"]: entry["name"][language] for entry in reference}
        different = {
            item["slug"]: (item[f"name_{language}"], names[item["slug"]])
            for item in data[kind]
            if item["slug"] in names and item[f"name_{language}"] != names[item["slug"]]
        }
        assert different == {}


def specialists() -> tuple[list[str], list[dict]]:
    with (FIXTURES / "demo_specialists.csv").open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        return list(reader.fieldnames), list(reader)


# The CSV's column in English -> its column in each language.
CSV_TEXTS = {
    "headline": {"de": "headline_de", "fr": "headline_fr", "it": "headline_it"},
    "bio_en": {"de": "bio_de", "fr": "bio_fr", "it": "bio_it"},
}


def test_the_csv_ends_with_the_french_and_italian_columns():
    header, rows = specialists()
    assert header[-4:] == ["headline_fr", "headline_it", "bio_fr", "bio_it"]
    assert all(None not in row and len(row) == len(header) for row in rows)


@pytest.mark.parametrize("language", OTHERS)
def test_every_specialist_with_an_english_text_has_it_in_each_language(language):
    _header, rows = specialists()
    checked = 0
    missing = []
    for row in rows:
        for english, columns in CSV_TEXTS.items():
            if row[english]:
                checked += 1
                if not row[columns[language]].strip():
                    missing.append(f"{row['slug']} {columns[language]}")
    assert checked >= len(rows)
    assert missing == []


# --- The loaded demo ------------------------------------------------------------------------


def page(client, obj, language: str) -> str:
    with translation.override(language):
        url = obj.get_absolute_url()
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.text)


SWISS_CLINICS = {"centre-orthopedique-arve-geneve": "fr", "studio-orl-ceresio-lugano": "it"}


@pytest.mark.django_db
def test_the_loaded_demo_reads_in_french_and_italian_in_geneva_and_lugano(client):
    assert load_demo_directory()["specialists"] == len(specialists()[1])
    for specialist in Specialist.objects.all():
        for language in LANGUAGES:
            assert getattr(specialist, f"biography_{language}"), specialist.slug
            assert getattr(specialist, f"headline_{language}"), specialist.slug
    geneva = Specialist.objects.get(slug="julien-perrenoud")
    lugano = Specialist.objects.get(slug="chiara-solca")
    assert geneva.affiliations.get(is_primary=True).location.city == "Genève"
    assert lugano.affiliations.get(is_primary=True).location.city == "Lugano"

    french = page(client, geneva, "fr")
    assert geneva.biography_fr.startswith("Le Dr Perrenoud")
    assert geneva.biography_fr in french
    assert geneva.headline_fr in french
    assert geneva.biography_en not in french
    assert 'class="translation-note"' not in french

    italian = page(client, lugano, "it")
    assert lugano.biography_it.startswith("La dottoressa Solcà")
    assert lugano.biography_it in italian
    assert 'class="translation-note"' not in italian

    for slug, language in SWISS_CLINICS.items():
        clinic = Clinic.objects.get(slug=slug)
        text = page(client, clinic, language)
        assert getattr(clinic, f"description_{language}") in text
        assert clinic.description_en not in text
        assert 'class="translation-note"' not in text


# --- The article, its documents and the pages -----------------------------------------------

ARTICLE_FIELDS = ("title", "summary", "body", "reviewer_credentials")
PAGE_FIELDS = ("title", "summary", "body")


def fixture_text(folder: Path, name: str, language: str) -> dict[str, str]:
    """The fields a loaded article or page has from `name`'s file in `language`."""
    front, body = read_article(folder / f"{name}.{language}.md")
    text = {"title": front["title"], "summary": front["summary"], "body": body}
    if "reviewer" in front:
        text["reviewer_credentials"] = front["reviewer"].partition(", ")[2]
    return text


def stored(obj, fields, language: str) -> dict[str, str]:
    return {field: getattr(obj, f"{field}_{language}") or "" for field in fields}


def cleared(fields, wanted=("fr", "it")) -> dict[str, str]:
    """The columns to empty to leave a text with only its other languages."""
    return {f"{field}_{language}": "" for field in fields for language in wanted}


@pytest.fixture
def liver_metastases(db):
    return ConditionFactory(
        slug="liver-metastases", name_en="Liver metastases", name_de="Lebermetastasen"
    )


def test_a_fresh_load_gives_the_article_and_the_pages_in_every_language(liver_metastases):
    assert load_demo_articles() == 1
    assert load_demo_pages() == 4
    article = Article.objects.get(condition=liver_metastases)
    for language in LANGUAGES:
        assert stored(article, ARTICLE_FIELDS, language) == fixture_text(
            ARTICLES, "liver-metastases", language
        )
        assert getattr(article, f"body_html_{language}").startswith("<h2")
    assert {page.kind for page in Page.objects.all()} == set(Page.Kind.values)
    for page_ in Page.objects.all():
        for language in LANGUAGES:
            assert stored(page_, PAGE_FIELDS, language) == fixture_text(PAGES, page_.kind, language)
    assert load_demo_articles() == 0
    assert load_demo_pages() == 0


def test_an_article_loaded_in_english_and_german_only_gets_french_and_italian(
    liver_metastases, client
):
    load_demo_articles()
    sources = list(Article.objects.get().sources.values_list("url", flat=True))
    Article.objects.update(**cleared([*ARTICLE_FIELDS, "body_html"]))
    english_before = stored(Article.objects.get(), ARTICLE_FIELDS, "en")

    assert load_demo_articles() == 1
    article = Article.objects.get()
    for language in ("fr", "it"):
        assert stored(article, ARTICLE_FIELDS, language) == fixture_text(
            ARTICLES, "liver-metastases", language
        )
    assert stored(article, ARTICLE_FIELDS, "en") == english_before
    assert list(article.sources.values_list("url", flat=True)) == sources  # none added twice
    french = client.get("/fr/conditions/liver-metastases/").text
    assert html.escape(article.title_fr, quote=False) in french
    assert 'class="translation-note"' not in french
    assert load_demo_articles() == 0


def test_pages_loaded_in_english_and_german_only_get_french_and_italian(db):
    load_demo_pages()
    Page.objects.update(**cleared([*PAGE_FIELDS, "body_html"]))
    Page.objects.filter(kind="contact").update(**cleared(PAGE_FIELDS, wanted=("it",)))

    assert load_demo_pages() == 4
    for page_ in Page.objects.all():
        for language in LANGUAGES:
            assert stored(page_, PAGE_FIELDS, language) == fixture_text(PAGES, page_.kind, language)
    assert load_demo_pages() == 0


def test_an_article_whose_english_body_an_editor_changed_gets_no_language_added(
    liver_metastases,
):
    load_demo_articles()
    article = Article.objects.get()
    article.body_en = "## Our own text\n\nWritten by the editors.\n"
    for column, value in cleared([*ARTICLE_FIELDS, "body_html"]).items():
        setattr(article, column, value)
    article.save()

    assert load_demo_articles() == 0
    article.refresh_from_db()
    assert article.body_en == "## Our own text\n\nWritten by the editors.\n"
    assert stored(article, ARTICLE_FIELDS, "fr") == dict.fromkeys(ARTICLE_FIELDS, "")
    assert stored(article, ARTICLE_FIELDS, "it") == dict.fromkeys(ARTICLE_FIELDS, "")


@pytest.mark.parametrize(
    "edit", [{"body_en": "Our own privacy policy."}, {"title_de": "Unser Datenschutz"}]
)
def test_a_page_whose_english_body_an_editor_changed_gets_no_language_added(db, edit):
    """A changed body, title or summary in any language the page has counts as the editor's."""
    load_demo_pages()
    Page.objects.update(**cleared([*PAGE_FIELDS, "body_html"]))
    Page.objects.filter(kind="privacy").update(**edit)

    assert load_demo_pages() == 3  # the other three are still the fixtures' own
    privacy = Page.objects.get(kind="privacy")
    assert all(getattr(privacy, column) == value for column, value in edit.items())
    assert stored(privacy, PAGE_FIELDS, "fr") == dict.fromkeys(PAGE_FIELDS, "")
    assert stored(privacy, PAGE_FIELDS, "it") == dict.fromkeys(PAGE_FIELDS, "")
    assert Page.objects.get(kind="contact").title_fr


def documents(language: str) -> str:
    front, _body = read_article(ARTICLES / f"liver-metastases.{language}.md")
    return "\n".join(front["documents"])


def test_the_documents_to_have_ready_are_loaded_in_every_language(liver_metastases):
    load_demo_articles()
    liver_metastases.refresh_from_db()
    for language in LANGUAGES:
        assert getattr(liver_metastases, f"documents_{language}") == documents(language)
    assert "CEA" in liver_metastases.documents_fr


def test_a_condition_with_our_documents_in_english_and_german_gets_french_and_italian(
    liver_metastases,
):
    load_demo_articles()
    Condition.objects.filter(pk=liver_metastases.pk).update(documents_fr="", documents_it="")

    load_demo_articles()
    liver_metastases.refresh_from_db()
    assert liver_metastases.documents_fr == documents("fr")
    assert liver_metastases.documents_it == documents("it")
    assert liver_metastases.documents_en == documents("en")


@pytest.mark.parametrize("edited", ["en", "fr"])
def test_an_editors_documents_are_never_replaced_nor_joined_by_ours(liver_metastases, edited):
    load_demo_articles()
    Condition.objects.filter(pk=liver_metastases.pk).update(
        **{"documents_fr": "", "documents_it": "", f"documents_{edited}": "Your latest scans"}
    )

    load_demo_articles()
    liver_metastases.refresh_from_db()
    assert getattr(liver_metastases, f"documents_{edited}") == "Your latest scans"
    assert liver_metastases.documents_it == ""
    assert liver_metastases.documents_de == documents("de")
