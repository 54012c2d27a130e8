"""In CI a skipped test fails the run unless tests/ci_skips.py allows it with its reason."""

from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent

SUITE = """
import pytest

def test_runs():
    assert True

def test_needs_nginx():
    pytest.skip("nginx is not installed")

@pytest.mark.skip(reason="marked at collection")
def test_marked():
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False
"""


def run(pytester, monkeypatch, ci: str):
    monkeypatch.setenv("PYTHONPATH", str(PROJECT))
    monkeypatch.setenv("CI", ci)
    pytester.makepyfile(test_probe=SUITE)
    return pytester.runpytest_subprocess("-p", "tests.ci_skips", "-p", "no:django", "-q")


def test_in_ci_a_skipped_test_fails_the_run_with_its_reason(pytester, monkeypatch):
    result = run(pytester, monkeypatch, "true")
    # A skip in the test's body fails it; a skip marked at collection errors in its set-up.
    result.assert_outcomes(passed=1, failed=1, errors=1, xfailed=1)
    result.stdout.fnmatch_lines(["*Skipped in CI: nginx is not installed*"])
    assert result.ret != 0


def test_outside_ci_a_skip_is_only_reported(pytester, monkeypatch):
    result = run(pytester, monkeypatch, "")
    result.assert_outcomes(passed=1, skipped=2, xfailed=1)
    assert result.ret == 0


def test_an_allowed_skip_passes_only_with_its_reason(monkeypatch):
    from types import SimpleNamespace

    from tests.ci_skips import fail_unexpected_skip

    monkeypatch.setenv("CI", "true")
    allowed = {("tests/test_x.py::test_y", "needs the embedded PostgreSQL"): "why"}

    def report(reason):
        return SimpleNamespace(
            skipped=True,
            outcome="skipped",
            nodeid="tests/test_x.py::test_y",
            longrepr=("file", 1, f"Skipped: {reason}"),
        )

    expected = report("needs the embedded PostgreSQL (the tests run on DATABASE_URL)")
    fail_unexpected_skip(expected, allowed)
    assert expected.outcome == "skipped"
    other = report("Redis is not reachable")
    fail_unexpected_skip(other, allowed)
    assert other.outcome == "failed"


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_ci_is_recognised_in_its_usual_spellings(monkeypatch, value):
    from tests.ci_skips import in_ci

    monkeypatch.setenv("CI", value)
    assert in_ci()
