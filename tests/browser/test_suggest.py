"""Suggestions as you type (static/js/suggest.js): the header search and the search page's text
field become APG comboboxes with a listbox popup. The suggestion endpoint is answered here by
Playwright with fixed JSON, in the shape /<lang>/suggest/?q= promises."""

import contextlib
import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Error, Page, Route, expect

from tests.browser.accessibility import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)

SUGGEST = "**/suggest/?**"

SUGGESTIONS = {
    "en": [
        ("specialty", "Medical field", "Cardiology", "/en/specialists/?specialty=cardiology"),
        ("condition", "Condition", "Atrial fibrillation", "/en/conditions/"),
        ("place", "Place", "Berlin (Germany)", "/en/specialists/?city=berlin"),
        ("specialist", "Specialist", "Dr. med. Lena Aurich", "/en/specialists/?q=aurich"),
    ],
    "de": [
        ("specialty", "Fachgebiet", "Kardiologie", "/de/specialists/?specialty=cardiology"),
        ("condition", "Erkrankung", "Vorhofflimmern", "/de/conditions/"),
        ("place", "Ort", "Berlin (Deutschland)", "/de/specialists/?city=berlin"),
        ("specialist", "Spezialist", "Dr. med. Lena Aurich", "/de/specialists/?q=aurich"),
    ],
}

WORDS = {
    "en": {"four": "4 suggestions", "one": "1 suggestion", "none": "No suggestions"},
    "de": {"four": "4 Vorschläge", "one": "1 Vorschlag", "none": "Keine Vorschläge"},
}

# (page, the input's id): the header search on the home page, the search page's own text field.
FIELDS = [("/{lang}/", "header-q"), ("/{lang}/specialists/", "id_q")]


def answer(language: str, count: int = 4) -> dict:
    return {
        "query": "kard",
        "suggestions": [
            {"kind": kind, "kind_label": kind_label, "label": label, "url": url}
            for kind, kind_label, label, url in SUGGESTIONS[language][:count]
        ],
    }


def serve(page: Page, language: str, count: int = 4) -> list[str]:
    """Answer every suggestion request with `count` suggestions; return the URLs asked for."""
    asked = []

    def fulfil(route: Route):
        asked.append(route.request.url)
        route.fulfill(json=answer(language, count))

    page.route(SUGGEST, fulfil)
    return asked


def options(page: Page, field: str):
    return page.locator(f"#{field}-list [role=option]")


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(("path", "field"), FIELDS)
def test_typing_shows_suggestions_and_arrows_move_through_them(
    live_server, page: Page, language, path, field
):
    asked = serve(page, language)
    page.goto(live_server.url + path.format(lang=language))
    combobox = page.locator(f"#{field}")
    expect(combobox).to_have_attribute("role", "combobox")
    expect(combobox).to_have_attribute("aria-autocomplete", "list")
    expect(combobox).to_have_attribute("aria-expanded", "false")
    expect(page.locator(f"#{field}-list")).to_be_hidden()

    combobox.press_sequentially("kard")

    listbox = page.get_by_role("listbox")
    expect(listbox).to_be_visible()
    expect(combobox).to_have_attribute("aria-expanded", "true")
    expect(combobox).to_have_attribute("aria-controls", f"{field}-list")
    expect(options(page, field)).to_have_count(4)
    first_label, first_kind = SUGGESTIONS[language][0][2], SUGGESTIONS[language][0][1]
    expect(options(page, field).first).to_have_accessible_name(f"{first_label} {first_kind}")
    expect(page.locator(f"#{field}-list + [aria-live=polite]")).to_have_text(
        WORDS[language]["four"]
    )
    assert not combobox.get_attribute("aria-activedescendant")  # no automatic selection
    assert len(asked) == 1  # one request for the whole word, after the typing paused
    url = urlparse(asked[0])
    assert url.path == f"/{language}/suggest/"
    assert parse_qs(url.query) == {"q": ["kard"]}

    ids = [f"{field}-list-{index}" for index in range(4)]
    for key, expected in [
        ("ArrowDown", 0),
        ("ArrowDown", 1),
        ("ArrowUp", 0),
        ("ArrowUp", 3),  # wraps to the last
        ("ArrowDown", 0),  # and back to the first
    ]:
        combobox.press(key)
        expect(combobox).to_have_attribute("aria-activedescendant", ids[expected])
        expect(page.locator(f"#{ids[expected]}")).to_have_attribute("aria-selected", "true")
        expect(page.locator("[role=option][aria-selected=true]")).to_have_count(1)
    expect(combobox).to_be_focused()
    assert_accessible(page)

    combobox.press("Escape")
    expect(listbox).to_be_hidden()
    expect(combobox).to_have_attribute("aria-expanded", "false")
    expect(combobox).not_to_have_attribute("aria-activedescendant", re.compile("."))
    expect(combobox).to_have_value("kard")

    combobox.press("ArrowDown")  # opens the list again, on its first option
    expect(listbox).to_be_visible()
    expect(combobox).to_have_attribute("aria-activedescendant", ids[0])

    combobox.press("Escape")
    combobox.press("Escape")  # the second Escape clears the input
    expect(combobox).to_have_value("")
    expect(listbox).to_be_hidden()


@pytest.mark.parametrize("language", ["en", "de"])
def test_enter_on_an_option_goes_to_its_page(live_server, page: Page, language):
    serve(page, language)
    page.goto(f"{live_server.url}/{language}/")
    combobox = page.locator("#header-q")
    combobox.fill("kard")
    expect(options(page, "header-q")).to_have_count(4)

    for _ in range(3):
        combobox.press("ArrowDown")
    expect(combobox).to_have_attribute("aria-activedescendant", "header-q-list-2")
    combobox.press("Enter")

    page.wait_for_url(f"{live_server.url}/{language}/specialists/?city=berlin")


@pytest.mark.parametrize("language", ["en", "de"])
def test_enter_without_an_active_option_sends_the_form(live_server, page: Page, language):
    serve(page, language)
    page.goto(f"{live_server.url}/{language}/")
    page.locator("#header-q").fill("kard")
    expect(options(page, "header-q")).to_have_count(4)

    page.locator("#header-q").press("Enter")

    page.wait_for_url(f"{live_server.url}/{language}/specialists/?q=kard")


def test_clicking_an_option_goes_to_its_page(live_server, page: Page):
    serve(page, "en")
    page.goto(f"{live_server.url}/en/specialists/")
    page.locator("#id_q").fill("kard")

    page.get_by_role("option", name="Cardiology Medical field").click()

    page.wait_for_url(f"{live_server.url}/en/specialists/?specialty=cardiology")


def test_clicking_elsewhere_or_tabbing_away_closes_the_list(live_server, page: Page):
    serve(page, "en")
    page.goto(f"{live_server.url}/en/")
    combobox = page.locator("#header-q")
    combobox.fill("kard")
    expect(page.get_by_role("listbox")).to_be_visible()

    page.locator(".site-footer").click(position={"x": 5, "y": 5})  # not under the list
    expect(page.get_by_role("listbox")).to_be_hidden()
    expect(combobox).to_have_attribute("aria-expanded", "false")

    combobox.fill("kardi")
    expect(page.get_by_role("listbox")).to_be_visible()
    combobox.press("ArrowDown")
    combobox.press("Tab")
    expect(page.get_by_role("listbox")).to_be_hidden()
    expect(combobox).not_to_be_focused()
    expect(combobox).to_have_value("kardi")  # Tab selects nothing


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_live_region_counts_in_the_page_language(live_server, page: Page, language):
    page.goto(f"{live_server.url}/{language}/specialists/")
    status = page.locator("#id_q-list + [aria-live=polite]")
    combobox = page.locator("#id_q")

    page.route(SUGGEST, lambda route: route.fulfill(json=answer(language, 1)))
    combobox.fill("kard")
    expect(status).to_have_text(WORDS[language]["one"])
    expect(options(page, "id_q")).to_have_count(1)

    page.unroute(SUGGEST)
    page.route(SUGGEST, lambda route: route.fulfill(json={"query": "kardx", "suggestions": []}))
    combobox.fill("kardx")
    expect(status).to_have_text(WORDS[language]["none"])
    expect(page.get_by_role("listbox")).to_be_hidden()
    expect(combobox).to_have_attribute("aria-expanded", "false")


def test_one_letter_asks_nothing(live_server, page: Page):
    asked = serve(page, "en")
    page.goto(f"{live_server.url}/en/")

    page.locator("#header-q").fill("k")
    page.wait_for_timeout(400)  # well past the pause after typing

    assert asked == []
    expect(page.locator("#header-q-list")).to_be_hidden()


def test_a_late_answer_does_not_replace_a_newer_one(live_server, page: Page):
    held = []

    def fulfil(route: Route):
        if parse_qs(urlparse(route.request.url).query)["q"] == ["ka"]:
            held.append(route)  # answered only after the newer request
        else:
            route.fulfill(json=answer("en"))

    page.route(SUGGEST, fulfil)
    page.goto(f"{live_server.url}/en/")
    combobox = page.locator("#header-q")

    with page.expect_request("**/suggest/?q=ka"):
        combobox.fill("ka")
    combobox.fill("kard")
    expect(options(page, "header-q")).to_have_count(4)

    stale = {
        "query": "ka",
        "suggestions": [{"kind": "place", "kind_label": "Place", "label": "Kassel", "url": "/en/"}],
    }
    with contextlib.suppress(Error):  # the page may have dropped that request already
        held[0].fulfill(json=stale)
    page.wait_for_timeout(300)

    expect(options(page, "header-q")).to_have_count(4)
    expect(page.get_by_role("option", name=re.compile("Kassel"))).to_have_count(0)
    expect(page.locator("#header-q-list + [aria-live=polite]")).to_have_text("4 suggestions")


def test_the_open_list_needs_no_sideways_scrolling_at_200_percent(live_server, page: Page):
    serve(page, "de")
    page.set_viewport_size({"width": 640, "height": 900})
    # The header's search box (the search pages have none, their form is the search) and the
    # search form's text field.
    for path, field in (("/de/", "header-q"), ("/de/specialists/", "id_q")):
        page.goto(live_server.url + path)
        page.evaluate("document.documentElement.style.fontSize = '200%'")
        page.locator(f"#{field}").fill("kard")
        expect(options(page, field)).to_have_count(4)
        page.locator(f"#{field}").press("ArrowDown")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, field
        assert_accessible(page)
        page.locator(f"#{field}").press("Escape")


@pytest.mark.parametrize("language", ["en", "de"])
def test_without_javascript_the_header_search_still_sends_the_form(live_server, browser, language):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    try:
        page.goto(f"{live_server.url}/{language}/conditions/")
        combobox = page.locator("#header-q")
        assert combobox.get_attribute("role") is None
        assert page.locator("[role=listbox], [role=option]").count() == 0
        assert page.locator(".suggest").count() == 0

        combobox.fill("Muster")
        combobox.press("Enter")

        page.wait_for_url(f"{live_server.url}/{language}/specialists/?q=Muster")
        assert not [url for url in asked if "/suggest/" in url]
    finally:
        context.close()
