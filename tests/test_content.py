"""Articles and condition pages (issue 5): publishing rules, sanitising, the table of contents,
the list of specialists, the A to Z and the demo article."""

import re
import time
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import reversion
from django.core.cache import cache
from django.utils import timezone

from content.demo import load_demo_articles
from content.markdown import render
from content.models import Article
from tests.factories import AffiliationFactory, ConditionFactory, SpecialistFactory

pytestmark = pytest.mark.django_db

BODY_EN = """## What is it?

Some **plain** words.

## Treatment

### Surgery

An operation.

### Ablation

Heat.
"""


@pytest.fixture
def condition():
    return ConditionFactory(name_en="Liver metastases", name_de="Lebermetastasen", slug="lm")


def make_article(condition, **fields):
    values = {
        "condition": condition,
        "title_en": "Liver metastases",
        "title_de": "Lebermetastasen",
        "summary_en": "What they are and how they are treated.",
        "summary_de": "Was sie sind und wie sie behandelt werden.",
        "body_en": BODY_EN,
        "body_de": "## Was ist das?\n\nText.\n\n## Behandlung\n\nMehr Text.\n",
        "reviewer_name": "Dr. med. Erika Beispiel",
        "reviewer_credentials_en": "specialist in oncology",
        "reviewer_credentials_de": "Fachärztin für Onkologie",
        "reviewed_on": date(2026, 10, 1),
        "status": "published",
        **fields,
    }
    article = Article.objects.create(**values)
    article.sources.create(title="A guideline", publisher="A society", url="https://example.org/")
    return article


def url(condition, language="en"):
    return f"/{language}/conditions/{condition.slug}/"


# --- Publishing ---------------------------------------------------------------------------


def test_a_published_article_shows_reviewer_date_toc_body_and_sources(client, condition):
    make_article(condition)
    body = client.get(url(condition)).content.decode()
    assert '<h1 id="article-title">Liver metastases</h1>' in body
    assert "Medically reviewed by Dr. med. Erika Beispiel, specialist in oncology." in body
    assert '<time datetime="2026-10-01">' in body
    assert "<strong>plain</strong>" in body
    assert 'href="https://example.org/"' in body
    # Reviewer and date come before the article's text.
    assert body.index("Medically reviewed") < body.index("Some <strong>")


@pytest.mark.parametrize(
    "fields",
    [{"status": "draft"}, {"publish_at": timezone.now() + timedelta(days=1)}],
    ids=["draft", "scheduled"],
)
def test_drafts_and_scheduled_articles_stay_private_but_staff_may_preview(
    client, condition, editor, fields
):
    make_article(condition, **fields)
    public = client.get(url(condition)).content.decode()
    assert "Medically reviewed" not in public
    assert '<h1 id="article-title">Liver metastases</h1>' in public  # the condition's name
    client.force_login(editor)
    preview = client.get(url(condition)).content.decode()
    assert "Preview: this article is not published yet" in preview
    assert "Medically reviewed" in preview


def test_a_cached_page_expires_when_its_scheduled_article_is_due(client, condition, monkeypatch):
    """The page cache keeps the condition page no longer than until the scheduled article is
    due, although no change to any listing retires it. The cache's clock is moved on instead of
    emptying the cache, so the shortened time-out is what lets the article appear."""
    import django.core.cache.backends.locmem as locmem

    article = make_article(condition, publish_at=timezone.now() + timedelta(minutes=5))
    assert "Medically reviewed" not in client.get(url(condition)).content.decode()  # cached now
    # The time comes; the row changes without a signal, as nothing is saved when it comes.
    Article.objects.filter(pk=article.pk).update(publish_at=timezone.now() - timedelta(minutes=1))
    assert "Medically reviewed" not in client.get(url(condition)).content.decode()  # still cached

    later = time.time() + 6 * 60
    monkeypatch.setattr(locmem, "time", SimpleNamespace(time=lambda: later))

    assert "Medically reviewed" in client.get(url(condition)).content.decode()


def test_an_edited_article_is_shown_at_once(client, condition):
    article = make_article(condition)
    client.get(url(condition))
    article.summary_en = "A new summary."
    article.save()
    assert "A new summary." in client.get(url(condition)).content.decode()


# --- Body -----------------------------------------------------------------------------------


def test_sanitising_removes_scripts_event_handlers_and_unsafe_links():
    html = render(
        "## Hello\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
        '[click](javascript:alert(1)) <a href="#" onclick="x()">a</a>'
    )
    tags = re.findall(r"<[a-z][^>]*>", html)  # real tags; what was typed as HTML is text
    assert not [tag for tag in tags if re.search(r"\son\w+=", tag)]
    assert not [tag for tag in tags if tag.startswith(("<script", "<img"))]
    assert 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # shown as text, harmless
    assert '<h2 id="hello">Hello</h2>' in html


def test_the_table_of_contents_matches_the_headings(client, condition):
    make_article(condition)
    body = client.get(url(condition)).content.decode()
    article = body[body.index('<div class="prose">') : body.index('aria-labelledby="sources')]
    headings = re.findall(r'<h([23]) id="([^"]+)">([^<]+)</h\1>', article)
    toc = re.findall(r'<li class="toc__level-(\d)"><a href="#([^"]+)">([^<]+)</a>', body)
    assert toc == headings
    assert [text for _level, _anchor, text in toc] == [
        "What is it?",
        "Treatment",
        "Surgery",
        "Ablation",
    ]


def test_headings_with_ampersands_and_brackets_are_escaped_once_in_the_contents(client, condition):
    make_article(condition, body_en="## Diagnosis & <treatment>\n\nText.\n")
    body = client.get(url(condition)).content.decode()
    toc = re.findall(r'<li class="toc__level-\d"><a href="#[^"]+">([^<]+)</a>', body)
    assert toc == ["Diagnosis &amp; &lt;treatment&gt;"]
    assert "&amp;amp;" not in body


# --- The list -------------------------------------------------------------------------------


def test_the_specialist_count_equals_the_list(client, condition):
    for number in range(3):
        specialist = AffiliationFactory(specialist__family_name=f"Arzt{number}").specialist
        specialist.specialistcondition_set.create(condition=condition)
    SpecialistFactory(family_name="Ohne")  # treats something else
    response = client.get(url(condition))
    body = response.content.decode()
    assert "3 specialists found" in body
    assert len(re.findall(r'class="card__title"', body)) == 3
    assert "Ohne" not in body
    # Clinics that treat the condition appear too.
    assert "Clinics with specialists for Liver metastases" in body
    # The country filter is there and keeps to the condition.
    assert 'name="country" value="DE"' in body
    assert "0 specialists found" in client.get(url(condition), {"country": "AT"}).content.decode()


def test_condition_pages_are_german_on_the_german_site(client, condition):
    make_article(condition)
    body = client.get(url(condition, "de")).content.decode()
    assert '<h1 id="article-title">Lebermetastasen</h1>' in body
    assert "Medizinisch geprüft von Dr. med. Erika Beispiel, Fachärztin für Onkologie." in body
    assert "Inhalt" in body
    assert "Quellen" in body


def test_unknown_conditions_are_404_and_bad_filters_400(client, condition):
    assert client.get("/en/conditions/unknown/").status_code == 404
    assert client.get(url(condition), {"page": "0"}).status_code == 400


def test_condition_page_query_count_is_pinned(client, condition, django_assert_num_queries):
    make_article(condition)
    for _ in range(3):
        AffiliationFactory().specialist.specialistcondition_set.create(condition=condition)
    cache.clear()
    with django_assert_num_queries(8):
        client.get(url(condition), {"country": "DE"})
    with django_assert_num_queries(0):
        client.get(url(condition), {"country": "DE"})  # then from the cache


# --- A to Z and demo ------------------------------------------------------------------------------


def test_a_to_z_lists_conditions_by_letter_in_each_language(client, condition):
    ConditionFactory(name_en="Atrial fibrillation", name_de="Vorhofflimmern", slug="af")
    english = client.get("/en/conditions/").content.decode()
    german = client.get("/de/conditions/").content.decode()
    assert english.index('id="letter-A"') < english.index('id="letter-L"')
    assert 'href="/en/conditions/lm/">Liver metastases</a>' in english
    assert german.index('id="letter-L"') < german.index('id="letter-V"')
    assert 'href="/de/conditions/af/">Vorhofflimmern</a>' in german


def test_the_demo_article_loads_once_with_reviewer_date_and_sources(db):
    ConditionFactory(slug="liver-metastases", name_en="Liver metastases", name_de="Lebermetastasen")
    assert load_demo_articles() == 1
    assert load_demo_articles() == 0
    article = Article.objects.get()
    assert article.is_live()
    assert article.reviewer_name == "Dr. med. Lioba Sternkamp"
    assert article.reviewed_on == date(2026, 10, 15)
    assert article.sources.count() >= 3
    assert len(article.headings) >= 8
    condition = article.condition
    assert "CEA" in condition.documents_en
    assert "Arztbrief" in condition.documents_de


def test_the_demo_documents_reach_a_condition_loaded_before_them_but_never_an_editors_list(
    db, client
):
    from directory.models import Condition

    ConditionFactory(slug="liver-metastases", name_en="Liver metastases", name_de="Lebermetastasen")
    load_demo_articles()
    Condition.objects.update(documents_en="", documents_de="")  # loaded before the list existed

    assert load_demo_articles() == 0
    condition = Condition.objects.get()
    assert "CEA" in condition.documents_en
    page = client.get("/en/conditions/liver-metastases/").text
    assert "Documents to have ready" in page
    assert "CEA" in page
    Condition.objects.update(documents_en="Your scans", documents_de="")
    load_demo_articles()
    condition.refresh_from_db()
    assert (condition.documents_en, condition.documents_de) == ("Your scans", "")


# --- Admin ----------------------------------------------------------------------------------


def test_editors_can_list_articles_due_for_review_and_see_their_history(client, editor, condition):
    with reversion.create_revision():
        article = make_article(condition, reviewed_on=date(2024, 1, 1))
    client.force_login(editor)
    listing = client.get("/admin/content/article/", {"review": "due"})
    assert listing.status_code == 200
    assert "Liver metastases" in listing.content.decode()
    history = client.get(f"/admin/content/article/{article.pk}/history/")
    assert history.status_code == 200


def test_reverting_restores_an_earlier_version_in_both_languages(condition):
    from reversion.models import Version

    with reversion.create_revision():
        article = make_article(condition)
    with reversion.create_revision():
        article.summary_en = "A worse summary."
        article.summary_de = "Eine schlechtere Zusammenfassung."
        article.save()
    first = Version.objects.get_for_object(article).order_by("pk").first()
    first.revision.revert()
    article.refresh_from_db()
    assert article.summary_en == "What they are and how they are treated."
    assert article.summary_de == "Was sie sind und wie sie behandelt werden."
    assert "<strong>plain</strong>" in article.body_html_en


def test_a_field_page_shows_its_article(client):
    from tests.factories import SpecialtyFactory

    field = SpecialtyFactory(name_en="Hepatology", name_de="Hepatologie", slug="hepatology")
    make_article(None, specialty=field, title_en="Hepatology", title_de="Hepatologie")
    body = client.get("/en/specialties/hepatology/").content.decode()
    assert "Medically reviewed by Dr. med. Erika Beispiel" in body
    assert '<a href="#treatment">Treatment</a>' in body
    assert 'href="https://example.org/"' in body


def test_a_to_z_query_count_is_pinned(client, condition, django_assert_num_queries):
    with django_assert_num_queries(1):
        client.get("/en/conditions/")
