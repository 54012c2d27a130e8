import json

import pytest
from django.core.management import call_command

from directory.management.commands.bench import percentile

pytestmark = pytest.mark.django_db


def test_percentiles_are_read_from_the_sorted_times_of_a_run():
    times = [float(ms) for ms in range(200, 0, -10)]  # 20 runs, 10 to 200 ms, unsorted
    assert percentile(times, 50) == 105.0
    assert percentile(times, 95) == pytest.approx(190.5)
    assert percentile([7.0], 95) == 7.0


def test_bench_measures_every_page_of_the_mix_and_writes_its_results(tmp_path, settings):
    settings.DEBUG = False
    output = tmp_path / "results.json"
    call_command("bench", specialists=60, runs=5, output=str(output), stdout=None)
    results = json.loads(output.read_text())
    assert results["specialists"] == 60
    names = [page["name"] for page in results["pages"]]
    assert "search: everything" in names
    assert any(name.startswith("profile") for name in names)
    weight = results["search_page_weight"]
    assert weight["css_js_bytes"] > 1000  # the stylesheet was found and counted
    assert weight["other_hosts"] == []
    assert weight["within_budget"]
    for page in results["pages"]:
        assert 0 < page["queries"] <= 8, page
        assert page["first_ms"] > 0
        assert 0 < page["p50_ms"] <= page["p95_ms"]
        assert page["within_budget"] == (
            page["p95_ms"] <= page["budget_ms"] and page["queries"] <= 8
        )
