import json

import pytest
from django.core.management import call_command

from directory.management.commands import bench
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
    assert {"api: roles by field + postcode", "api: locations near Berlin"} <= set(names)
    assert {"api: practitioners by family", "api: practitioner by id"} <= set(names)
    assert results["api_queries_pinned"]
    weight = results["search_page_weight"]
    assert weight["css_js_bytes"] > 1000  # the stylesheet was found and counted
    assert weight["other_hosts"] == []
    assert weight["within_budget"]
    changed = sorted(page["changed_ms"] for page in results["pages"])
    assert changed[0] <= results["changed_p50_ms"] <= results["changed_p95_ms"] <= changed[-1]
    assert results["changed_budget_ms"] == 200
    assert bench.MAX_QUERIES == 8  # a page of the site (SPEC)
    for page in results["pages"]:
        limit = bench.API_MAX_QUERIES if page["url"].startswith("/fhir/") else bench.MAX_QUERIES
        assert 0 < page["queries"] <= limit, page
        assert page["first_ms"] > 0
        assert page["changed_ms"] > 0
        assert 0 < page["p50_ms"] <= page["p95_ms"]
        assert page["within_budget"] == (
            page["p95_ms"] <= page["budget_ms"] and page["queries"] <= limit
        )


def test_the_load_tests_import_flips_new_patients_in_every_row_it_exports():
    import importlib.util
    from pathlib import Path

    from directory.models import Specialist
    from tests.factories import AffiliationFactory

    spec = importlib.util.spec_from_file_location(
        "edits", Path(__file__).resolve().parent.parent / "bench" / "edits.py"
    )
    edits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(edits)
    listings = [
        AffiliationFactory(specialist__accepts_new_patients=True).specialist for _ in range(3)
    ]

    result = edits.import_rows(edits.import_file(2))

    assert result == {"rows": 2, "applied": True, "errors": 0, "seconds": result["seconds"]}
    taking = dict(Specialist.objects.values_list("pk", "accepts_new_patients"))
    assert [taking[s.pk] for s in sorted(listings, key=lambda s: s.pk)] == [False, False, True]
