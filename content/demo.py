"""The demo articles of fixtures/articles/: `<condition slug>.<language>.md`, YAML front matter
(title, summary, reviewer "Name, qualifications", reviewed date, sources) and a Markdown body.
Only articles that are missing are added, published, so an editor's changes are kept.

The site's own pages of fixtures/pages/: `<kind>.<language>.md` (privacy, legal-notice, contact,
editorial-policy), front matter with title and summary, and a Markdown body that may use the
placeholders of content.facts. Likewise only missing pages are added."""

from pathlib import Path

import reversion
import yaml
from django.conf import settings

from content.models import Article, Page
from directory.models import Condition, Status

ARTICLES = Path(settings.BASE_DIR) / "fixtures" / "articles"
PAGES = Path(settings.BASE_DIR) / "fixtures" / "pages"
LANGUAGES = ("en", "de")


def read_article(path: Path) -> tuple[dict, str]:
    """(front matter, Markdown body) of one file."""
    text = path.read_text(encoding="utf-8")
    _start, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body.strip() + "\n"


def load_demo_articles() -> int:
    """Add the missing demo articles; returns how many were added."""
    added = 0
    for slug in sorted({path.name.split(".")[0] for path in ARTICLES.glob("*.md")}):
        condition = Condition.objects.filter(slug=slug).first()
        if condition is None:
            continue
        _add_documents(condition, slug)
        if Article.objects.filter(condition=condition).exists():
            continue
        article = Article(condition=condition, status=Status.PUBLISHED)
        sources = []
        for language in LANGUAGES:
            front, body = read_article(ARTICLES / f"{slug}.{language}.md")
            name, _comma, credentials = front["reviewer"].partition(", ")
            setattr(article, f"title_{language}", front["title"])
            setattr(article, f"summary_{language}", front["summary"])
            setattr(article, f"body_{language}", body)
            setattr(article, f"reviewer_credentials_{language}", credentials)
            article.reviewer_name = name
            article.reviewed_on = front["reviewed"]
            sources = sources or front.get("sources", [])
        article.save()
        for position, source in enumerate(sources):
            article.sources.create(
                position=position,
                title=source["title"],
                publisher=source.get("publisher", ""),
                url=source["url"],
            )
        added += 1
    return added


def _add_documents(condition: Condition, slug: str) -> None:
    """The demo article's list of documents to have ready (front matter `documents`) goes to
    its condition, once: a list an editor has written (in any language) is never replaced."""
    if any(getattr(condition, f"documents_{language}") for language in LANGUAGES):
        return
    for language in LANGUAGES:
        front, _body = read_article(ARTICLES / f"{slug}.{language}.md")
        setattr(condition, f"documents_{language}", "\n".join(front.get("documents", [])))
    condition.save(update_fields=[f"documents_{language}" for language in LANGUAGES])


def load_demo_pages() -> int:
    """Add the site's own pages that are missing, each as the first version of its history;
    returns how many were added. An existing page is never touched, whatever its text."""
    added = 0
    for kind in Page.Kind.values:
        if Page.objects.filter(kind=kind).exists():
            continue
        page = Page(kind=kind)
        for language in LANGUAGES:
            front, body = read_article(PAGES / f"{kind}.{language}.md")
            setattr(page, f"title_{language}", front["title"])
            setattr(page, f"summary_{language}", front["summary"])
            setattr(page, f"body_{language}", body)
        with reversion.create_revision():
            page.save()
            reversion.set_comment("Added from fixtures/pages/.")
        added += 1
    return added
