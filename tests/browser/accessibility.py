"""The axe-core check every browser test runs on the pages it visits."""

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

# WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

_axe = Axe()


def violations(page: Page) -> str:
    """axe's report of the WCAG 2.2 A and AA rules the page in `page` breaks, "" if none."""
    results = _axe.run(
        page,
        options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]},
    )
    return results.generate_report() if results.violations_count else ""


def assert_accessible(page: Page) -> None:
    """Fail with axe's report when the page in `page` breaks any WCAG 2.2 A or AA rule."""
    report = violations(page)
    assert not report, f"{page.url}\n{report}"
