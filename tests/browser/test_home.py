import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.accessibility import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("language", "heading"),
    [
        ("en", "Find an experienced specialist or clinic"),
        ("de", "Erfahrene Spezialisten und Kliniken finden"),
    ],
)
def test_home_page_is_accessible_in_both_languages(live_server, page: Page, language, heading):
    page.goto(f"{live_server.url}/{language}/")

    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert_accessible(page)


def test_skip_link_is_the_first_stop_and_moves_focus_to_main(live_server, page: Page):
    page.goto(f"{live_server.url}/en/")

    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))


def test_language_switch_opens_the_same_page_in_german(live_server, page: Page):
    page.goto(f"{live_server.url}/en/")

    page.get_by_role("navigation", name="Language").get_by_role("link", name="Deutsch").click()

    expect(page).to_have_url(f"{live_server.url}/de/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Erfahrene Spezialisten und Kliniken finden"
    )
