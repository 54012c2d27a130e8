"""Browser tests: pytest-playwright driving Debian's Chromium, never a downloaded browser.

Without /usr/bin/chromium these tests are skipped with the reason; in CI (CI=true) every such
skip fails the run instead (tests/ci_skips.py), so browser tests never silently stop there.
"""

import os

import pytest

from bench.chromium import CHROMIUM, CHROMIUM_FLAGS

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by the test
# itself (building data) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    browser_items = [item for item in items if "browser" in item.nodeid.split("/")]
    if CHROMIUM.exists() or not browser_items:
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (apt-get install chromium)")
    for item in browser_items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_FLAGS,
    }


@pytest.fixture(autouse=True)
def no_policy_violations(request):
    """Every browser test fails if the page broke its Content-Security-Policy (an inline script
    or style, or anything from another host), in the site or in the admin."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield
    assert violations == []
