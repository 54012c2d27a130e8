"""axe on every public page type in each of the site's languages (settings.LANGUAGES): the pages
the HTML checker reads (tests/test_html_validity.py), the forms sent with errors and the error
pages, one browser page per language."""

from unittest import mock

import pytest
from django.core.cache import cache
from django.db import OperationalError
from playwright.sync_api import Page

from core import languages
from tests.browser.accessibility import violations
from tests.test_html_validity import every_page, forms_with_errors  # noqa: F401 - the fixture
from tests.test_seo import site  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)


def send_with_errors(page: Page, data: dict) -> None:
    """Send the page's form as a patient who left fields empty: the browser's own checks off,
    so that the server answers with its error summary."""
    page.locator("main form[method=post]").first.evaluate(
        """(form, data) => {
            for (const [name, value] of Object.entries(data)) form.elements[name].value = value;
            form.noValidate = true;
            form.requestSubmit();
        }""",
        data,
    )
    page.wait_for_load_state()


@pytest.mark.parametrize("language", languages.codes())
def test_every_page_type_is_accessible(live_server, page: Page, gazetteer, every_page, language):  # noqa: F811
    problems = []

    def check(what: str, status: int, expected: int) -> None:
        lang = page.locator("html").get_attribute("lang")
        if status != expected or lang != language:
            problems.append(f"{what}: status {status}, lang {lang}")
        if report := violations(page):
            problems.append(f"{what}\n{report}")

    for path, status in every_page:
        url = path.format(lang=language)
        check(url, page.goto(live_server.url + url).status, status)
    for path, data in forms_with_errors(every_page):
        url = path.format(lang=language)
        page.goto(live_server.url + url)
        with page.expect_response(lambda response: response.request.method == "POST") as sent:
            send_with_errors(page, data)
        check(f"POST {url}", sent.value.status, 400)
    for name, error in (("500", ValueError("a detail")), ("503", OperationalError("closed"))):
        cache.clear()
        with mock.patch("content.views.render", side_effect=error):
            check(f"{name} page", page.goto(f"{live_server.url}/{language}/").status, int(name))

    assert problems == [], "\n".join(problems)
