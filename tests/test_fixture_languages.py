"""The demo article and the site's own pages are written in English, German, French and Italian
(fixtures/articles, fixtures/pages; French and Italian are loaded once the site serves them):
each language has the same front matter, the same sections and the same placeholders, and an
article the same reviewer, date and sources."""

import re
from pathlib import Path

import pytest
import yaml

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LANGUAGES = ("en", "de", "fr", "it")
DOCUMENTS = sorted(
    {(path.parent.name, path.name.split(".")[0]) for path in FIXTURES.glob("*/*.*.md")}
)


def read(folder: str, name: str, language: str) -> tuple[dict, str]:
    _start, front, body = (
        (FIXTURES / folder / f"{name}.{language}.md").read_text().split("---\n", 2)
    )
    return yaml.safe_load(front), body


def shape(folder: str, name: str, language: str) -> dict:
    front, body = read(folder, name, language)
    text = yaml.safe_dump(front) + body
    return {
        "keys": list(front),
        "sections": len(re.findall(r"^#{2,3} ", body, re.M)),
        "placeholders": sorted(re.findall(r"\{\w+\}", text)),
    }


def test_there_are_documents_to_check():
    assert ("articles", "liver-metastases") in DOCUMENTS
    assert {name for folder, name in DOCUMENTS if folder == "pages"} >= {"privacy", "contact"}


@pytest.mark.parametrize(("folder", "name"), DOCUMENTS)
@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_each_language_has_the_shape_of_the_english(folder, name, language):
    assert shape(folder, name, language) == shape(folder, name, "en")


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_an_article_has_the_same_reviewer_date_and_sources_in_each_language(language):
    english, _ = read("articles", "liver-metastases", "en")
    other, _ = read("articles", "liver-metastases", language)
    assert other["reviewed"] == english["reviewed"]
    assert other["sources"] == english["sources"]
    assert other["reviewer"].split(", ")[0] == english["reviewer"].split(", ")[0]
    assert len(other["documents"]) == len(english["documents"])
