"""The demo articles of fixtures/articles/: `<condition slug>.<language>.md`, YAML front matter
(title, summary, reviewer "Name, qualifications", reviewed date, sources) and a Markdown body.
Only articles that are missing are added, published, so an editor's changes are kept; an
article still as the fixtures wrote it gets the languages it lacks (a site that gained French
and Italian gets them on the next load).

The site's own pages of fixtures/pages/: `<kind>.<language>.md` (privacy, legal-notice, contact,
editorial-policy), front matter with title and summary, and a Markdown body that may use the
placeholders of content.facts. Likewise only missing pages are added, and a page still as the
fixtures wrote it gets the languages it lacks."""

from pathlib import Path

import reversion
import yaml
from django.conf import settings

from content.models import Article, Page
from core import languages
from directory.models import Condition, Status

ARTICLES = Path(settings.BASE_DIR) / "fixtures" / "articles"
PAGES = Path(settings.BASE_DIR) / "fixtures" / "pages"


def read_article(path: Path) -> tuple[dict, str]:
    """(front matter, Markdown body) of one file."""
    text = path.read_text(encoding="utf-8")
    _start, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body.strip() + "\n"


def _texts(folder: Path, name: str) -> dict[str, tuple[dict, str]]:
    """(front matter, body) of `name` in each of the site's languages that has a file."""
    files = {language: folder / f"{name}.{language}.md" for language in languages.codes()}
    return {language: read_article(path) for language, path in files.items() if path.exists()}


def _missing_languages(obj, texts: dict[str, tuple[dict, str]]) -> list[str]:
    """The languages `obj` lacks and the fixtures have, if every language it has is still the
    fixtures' text (title, summary and body); else none, so that an editor's text never stands
    beside ours."""

    def ours(language: str) -> bool:
        front, body = texts[language]
        return (
            getattr(obj, f"body_{language}").strip() == body.strip()
            and getattr(obj, f"title_{language}") == front["title"]
            and getattr(obj, f"summary_{language}") == front["summary"]
        )

    written = [language for language in texts if getattr(obj, f"body_{language}")]
    if not all(ours(language) for language in written):
        return []
    return [language for language in texts if language not in written]


def _add_article_languages(article: Article, texts: dict, wanted: list[str]) -> list[dict]:
    """Write the article's text in the `wanted` languages; returns the fixtures' sources."""
    sources = []
    for language in wanted:
        front, body = texts[language]
        name, _comma, credentials = front["reviewer"].partition(", ")
        setattr(article, f"title_{language}", front["title"])
        setattr(article, f"summary_{language}", front["summary"])
        setattr(article, f"body_{language}", body)
        setattr(article, f"reviewer_credentials_{language}", credentials)
        article.reviewer_name = name
        article.reviewed_on = front["reviewed"]
        sources = sources or front.get("sources", [])
    return sources


def load_demo_articles() -> int:
    """Add the missing demo articles, and the missing languages of those still as written;
    returns how many articles were added or completed."""
    added = 0
    for slug in sorted({path.name.split(".")[0] for path in ARTICLES.glob("*.md")}):
        condition = Condition.objects.filter(slug=slug).first()
        if condition is None:
            continue
        texts = _texts(ARTICLES, slug)
        _add_documents(condition, texts)
        existing = Article.objects.filter(condition=condition).first()
        if existing is not None:
            if wanted := _missing_languages(existing, texts):
                _add_article_languages(existing, texts, wanted)
                with reversion.create_revision():
                    existing.save()
                    reversion.set_comment("Languages added from fixtures/articles/.")
                added += 1
            continue
        article = Article(condition=condition, status=Status.PUBLISHED)
        sources = _add_article_languages(article, texts, list(texts))
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


def _add_documents(condition: Condition, texts: dict) -> None:
    """The demo article's list of documents to have ready (front matter `documents`) goes to
    its condition, in the languages that lack one, as long as the others are still ours: a
    list an editor has written is never replaced nor joined by ours."""
    lists = {
        language: "\n".join(front.get("documents", [])) for language, (front, _b) in texts.items()
    }
    written = [language for language in texts if getattr(condition, f"documents_{language}")]
    if any(getattr(condition, f"documents_{language}") != lists[language] for language in written):
        return
    wanted = [language for language in texts if language not in written]
    for language in wanted:
        setattr(condition, f"documents_{language}", lists[language])
    if wanted:
        condition.save(update_fields=[f"documents_{language}" for language in wanted])


def load_demo_pages() -> int:
    """Add the site's own pages that are missing, each as the first version of its history, and
    the languages a page lacks while its texts are still ours (a new version); returns how many
    pages were added or completed. What an editor wrote is never touched."""
    added = 0
    for kind in Page.Kind.values:
        texts = _texts(PAGES, kind)
        page = Page.objects.filter(kind=kind).first()
        if page is None:
            page, wanted = Page(kind=kind), list(texts)
        else:
            wanted = _missing_languages(page, texts)
        if not wanted:
            continue
        for language in wanted:
            front, body = texts[language]
            setattr(page, f"title_{language}", front["title"])
            setattr(page, f"summary_{language}", front["summary"])
            setattr(page, f"body_{language}", body)
        with reversion.create_revision():
            page.save()
            reversion.set_comment("Added from fixtures/pages/.")
        added += 1
    return added
