"""The doctors come first, on a phone and on a laptop, in both languages: where the first
specialist card sits on the condition page and on the search page, no sideways scrolling, no
layout shift while portraits load, one map marker per result."""

import mimetypes
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from playwright.sync_api import Page, Route

from core.staticfiles import minify
from directory.models import Specialist

pytestmark = pytest.mark.django_db(transaction=True)

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1366, "height": 900}}
QUERIES = {"en": "liver metastases Hamburg", "de": "Lebermetastasen Hamburg"}

# Layout shifts since the page started, as the browser reports them (the sum Lighthouse's CLS
# takes the largest window of; the sum is never smaller).
LAYOUT_SHIFT = """() => new Promise(resolve => {
  let total = 0;
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
  }).observe({type: "layout-shift", buffered: true});
  setTimeout(() => resolve(total), 500);
})"""


@pytest.fixture
def demo(settings, tmp_path, gazetteer):
    settings.MEDIA_ROOT = tmp_path
    call_command("load_demo")
    assert Specialist.objects.exclude(photo="").exists()


def serve_uploads(page: Page, live_server) -> None:
    """The live server runs without DEBUG, so it does not serve uploads: the browser gets them
    from MEDIA_ROOT here, as nginx would in production, so the portraits really load."""

    def fulfil(route: Route) -> None:
        name = route.request.url.split(settings.MEDIA_URL, 1)[1]
        path = Path(settings.MEDIA_ROOT) / name
        route.fulfill(
            status=200,
            body=path.read_bytes(),
            content_type=mimetypes.guess_type(path.name)[0] or "image/webp",
        )

    page.route(f"{live_server.url}{settings.MEDIA_URL}**", fulfil)


def serve_minified(page: Page, live_server) -> None:
    """Stylesheets and scripts as production sends them, minified (core/staticfiles.py)."""

    def fulfil(route: Route) -> None:
        name = route.request.url.split(settings.STATIC_URL, 1)[1].split("?")[0]
        source = finders.find(name)
        if source is None or not name.endswith((".css", ".js")):
            route.continue_()
            return
        route.fulfill(
            status=200,
            body=minify(name, Path(source).read_text(encoding="utf-8")),
            content_type="text/css" if name.endswith(".css") else "text/javascript",
        )

    page.route(f"{live_server.url}{settings.STATIC_URL}**", fulfil)


def document_top(page: Page, selector: str) -> float:
    return page.eval_on_selector(
        selector, "element => element.getBoundingClientRect().top + window.scrollY"
    )


def assert_no_sideways_scrolling(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_first_doctor_is_near_the_top_and_nothing_moves(
    live_server, page: Page, demo, language, viewport
):
    size = VIEWPORTS[viewport]
    page.set_viewport_size(size)
    serve_uploads(page, live_server)
    serve_minified(page, live_server)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    loaded_images = []
    page.on(
        "response",
        lambda response: (
            loaded_images.append(response.url)
            if settings.MEDIA_URL in response.url and response.ok
            else None
        ),
    )

    page.goto(f"{live_server.url}/{language}/conditions/liver-metastases/")
    assert document_top(page, ".card") < 2 * size["height"]
    assert_no_sideways_scrolling(page)
    assert page.evaluate(LAYOUT_SHIFT) <= 0.02

    page.goto(f"{live_server.url}/{language}/specialists/?q={QUERIES[language]}")
    cards = page.locator("ol.cards > li")
    assert cards.count() > 1
    assert document_top(page, ".card") < size["height"]
    assert_no_sideways_scrolling(page)
    # The map's script ran (its zoom buttons are there), minified as it is.
    assert page.locator(".listing__map .map__button").count() == 3
    # One numbered marker per card, numbered as the cards are.
    markers = page.locator(".listing__map .map__markers a")
    assert markers.count() == cards.count()
    numbers = page.locator(".card-number").all_inner_texts()
    labels = [markers.nth(i).get_attribute("aria-label") for i in range(markers.count())]
    assert sorted(label.split(":")[0] for label in labels) == sorted(numbers)
    # Scroll through the whole list so every lazy portrait loads, then count the shifts.
    for index in range(cards.count()):
        cards.nth(index).scroll_into_view_if_needed()
    page.wait_for_load_state("networkidle")
    assert page.evaluate(LAYOUT_SHIFT) <= 0.02
    assert any("/renditions/" in url for url in loaded_images)

    first = page.locator(".card__title a").first
    first.click()
    page.wait_for_load_state("networkidle")
    assert_no_sideways_scrolling(page)
    assert page.evaluate(LAYOUT_SHIFT) <= 0.02

    page.goto(f"{live_server.url}/{language}/clinics/")
    assert_no_sideways_scrolling(page)
    page.locator(".card__title a").first.click()
    assert_no_sideways_scrolling(page)
    assert page.evaluate(LAYOUT_SHIFT) <= 0.02
    assert errors == []
