"""In CI, a skipped test is a failed test unless this allow-list names it with its reason.

Tests that need a browser, Java, Redis or nginx skip locally when those are missing. In CI
(`CI` set, as `.ci/run` does) everything they need is installed, so a skip means a test that
silently stopped running: it fails the run instead. tests/conftest.py loads this module as a
pytest plugin.
"""

import os

import pytest

# (test id, a phrase of the skip's reason) -> why the skip is expected in CI.
ALLOWED_SKIPS_IN_CI: dict[tuple[str, str], str] = {
    (
        "tests/test_streaming_replica.py::test_public_pages_read_from_a_streaming_replica",
        "needs the embedded PostgreSQL",
    ): "CI's second pass runs on a PostgreSQL server the test cannot copy; the first pass, on "
    "the embedded server, runs it.",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in {"", "0", "false", "no"}


def skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def is_allowed(nodeid: str, reason: str, allowed=None) -> bool:
    allowed = ALLOWED_SKIPS_IN_CI if allowed is None else allowed
    return any(nodeid == test and phrase in reason for test, phrase in allowed)


def fail_unexpected_skip(report, allowed=None) -> None:
    """Turn a skipped test's report into a failure, in CI, unless the skip is allowed."""
    if not (report.skipped and in_ci()) or hasattr(report, "wasxfail"):
        return
    reason = skip_reason(report)
    if is_allowed(report.nodeid, reason, allowed):
        return
    report.outcome = "failed"
    report.longrepr = (
        f"Skipped in CI: {reason}\nIn CI every test runs; install what it needs in .ci/run, "
        "or allow the skip with a reason in tests/ci_skips.py."
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    fail_unexpected_skip(outcome.get_result())
