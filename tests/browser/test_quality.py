"""Page quality in a real browser (issue 7): keyboard use with a visible focus in a logical order,
text at 200 % without sideways scrolling, and no request to any other host on any page type. axe
reads every page type, the A to Z and the site's own pages among them, in every language in
tests/browser/test_languages.py."""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page

from core import languages
from tests.factories import AffiliationFactory, ConditionFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listing(db, demo_pages):
    affiliation = AffiliationFactory(
        specialist__slug="lena-aurich",
        specialist__given_name="Lena",
        specialist__family_name="Aurich",
        location__clinic__slug="klinikum-stadtpark",
    )
    affiliation.specialist.specialties.add(SpecialtyFactory(slug="oncology"))
    affiliation.specialist.conditions.add(
        ConditionFactory(slug="liver-metastases", name_en="Liver metastases")
    )
    return affiliation


PAGES = [
    "/{lang}/",
    "/{lang}/specialists/?q=aurich",
    "/{lang}/specialists/lena-aurich/",
    "/{lang}/specialists/lena-aurich/request/",
    "/{lang}/clinics/",
    "/{lang}/clinics/klinikum-stadtpark/",
    "/{lang}/conditions/",
    "/{lang}/conditions/liver-metastases/",
    "/{lang}/specialties/oncology/",
    "/{lang}/privacy/",
    "/{lang}/legal-notice/",
    "/{lang}/contact/",
    "/{lang}/editorial-policy/",
]


def test_no_page_requests_another_host(live_server, page: Page, listing):
    own = urlparse(live_server.url).netloc
    requested = []
    page.on("request", lambda request: requested.append(request.url))

    for language in languages.codes():
        for path in PAGES:
            page.goto(live_server.url + path.format(lang=language))

    others = [url for url in requested if urlparse(url).netloc != own]
    assert others == []
    assert len(requested) >= len(PAGES) * len(languages.codes())


def _focused(page: Page) -> dict:
    return page.evaluate(
        """() => {
            const element = document.activeElement;
            const style = getComputedStyle(element);
            return {name: element.getAttribute('name') || element.id || element.textContent.trim(),
                    outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
        }"""
    )


def test_the_request_form_works_by_keyboard_in_a_logical_order(live_server, page: Page, listing):
    page.goto(f"{live_server.url}/en/specialists/lena-aurich/request/")
    page.locator("#id_name").focus()

    order = []
    for _ in range(10):
        focused = _focused(page)
        assert focused["outline"] != "none"
        assert focused["width"] >= 2  # a visible focus ring
        order.append(focused["name"])
        page.keyboard.press("Tab")
    order.append(_focused(page)["name"])

    assert order == [
        "name",
        "email",
        "phone",
        "condition",
        "insurance_status",
        "interpreter",
        "message",
        "preferred_language",
        "consent",
        "How we handle your data (opens in a new tab)",
        "Send request",
    ]  # the honeypot is skipped


@pytest.mark.parametrize("path", PAGES)
def test_text_at_200_percent_needs_no_sideways_scrolling(live_server, page: Page, listing, path):
    page.set_viewport_size({"width": 640, "height": 900})
    page.goto(live_server.url + path.format(lang="de"))
    # Through the CSS object model, which the Content-Security-Policy allows (a <style> it bars).
    page.evaluate("document.documentElement.style.fontSize = '200%'")

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

    assert overflow <= 0, page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                         || e.scrollWidth > e.clientWidth + 1)
            .map(e => e.tagName + ' ' + (e.textContent || '').trim().slice(0, 60))"""
    )
