"""Suggestions as you type on the French and Italian pages, end to end: the search box asks its
own language's endpoint, which answers from the reference vocabulary and the gazetteer with names
in that language, and the combobox says how many there are in that language."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.django_db(transaction=True)

CASES = {
    # language: (typed, first option's accessible name, its page, what the live region says)
    "fr": (
        "l'oculi",
        "Ophtalmologie Spécialité médicale",
        "/fr/specialists/?specialty=ophthalmology",
        re.compile(r"^\d+ suggestions?$"),
    ),
    "it": (
        "oculist",
        "Oftalmologia Disciplina medica",
        "/it/specialists/?specialty=ophthalmology",
        re.compile(r"^\d+ suggeriment[oi]$"),
    ),
}
PLACES = {
    "fr": ("Ginev", "Genève (GE, Suisse) Lieu"),
    "it": ("Genè", "Ginevra (GE, Svizzera) Luogo"),
}


@pytest.fixture
def taxonomy(gazetteer):
    from directory.reference import load_taxonomy

    load_taxonomy()


@pytest.mark.parametrize("language", ["fr", "it"])
def test_suggestions_speak_the_pages_language(live_server, page: Page, taxonomy, language):
    typed, first, url, count = CASES[language]
    asked = []
    page.on(
        "request", lambda request: asked.append(request.url) if "/suggest/" in request.url else None
    )
    page.goto(f"{live_server.url}/{language}/")
    combobox = page.locator("#header-q")

    combobox.press_sequentially(typed)

    expect(page.get_by_role("listbox")).to_be_visible()
    expect(page.locator("#header-q-list [role=option]").first).to_have_accessible_name(first)
    expect(page.locator("#header-q-list + [aria-live=polite]")).to_have_text(count)
    assert asked
    assert all(f"/{language}/suggest/" in url for url in asked)

    place, option = PLACES[language]
    combobox.fill(place)
    expect(page.get_by_role("option", name=option)).to_be_visible()

    combobox.fill(typed)
    expect(page.locator("#header-q-list [role=option]").first).to_have_accessible_name(first)
    combobox.press("ArrowDown")
    combobox.press("Enter")
    page.wait_for_url(f"{live_server.url}{url}")
    expect(page.locator("#results-heading")).to_be_visible()
