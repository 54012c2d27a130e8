import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_bench_measures_every_page_of_the_mix_and_writes_its_results(tmp_path, settings):
    settings.DEBUG = False
    output = tmp_path / "results.json"
    call_command("bench", specialists=60, runs=2, output=str(output), stdout=None)
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
        assert page["queries"] <= 8, page
        assert page["p50_ms"] <= page["p95_ms"]
        assert page["within_budget"] == (
            page["p95_ms"] <= page["budget_ms"] and page["queries"] <= 8
        )
