"""Accessibility per location, as specific facts with their source and the day they were last
confirmed: shown on the profile, the "step-free access" filter that counts only facts confirmed
recently enough, and the facts in the structured data."""

import json
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone, translation

from directory.models import Feature, LocationFeature
from directory.search.index import rebuild_all
from tests.factories import AffiliationFactory
from tests.test_search import found

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def practice(name: str, **facts) -> object:
    """A practice found by "Zugangsprobe"; `facts`: feature -> (present, days since checked)."""
    location = AffiliationFactory(
        specialist__family_name=name,
        specialist__slug=name.lower(),
        location__clinic__name=f"Zugangsprobe {name}",
    ).location
    today = timezone.localdate()
    for feature, (present, days) in facts.items():
        LocationFeature.objects.create(
            location=location,
            feature=feature,
            present=present,
            source="practice",
            confirmed_on=today - timedelta(days=days),
        )
    return location


def names(client, **params) -> set[str]:
    return set(found(client.get("/en/specialists/", {"q": "Zugangsprobe", **params})))


def test_step_free_access_lists_exactly_those_with_a_current_step_free_entrance(client):
    practice("Eben", step_free=(True, 30), lift=(True, 30))
    practice("Alt", step_free=(True, 400))  # not confirmed for more than a year
    practice("Stufe", step_free=(False, 10))  # stated: there is a step
    practice("Aufzug", lift=(True, 10))
    practice("Unbekannt")
    rebuild_all()

    assert names(client, step_free="1") == {"Eben"}
    assert len(names(client)) == 5
    page = client.get("/en/specialists/", {"q": "Zugangsprobe", "step_free": "1"}).text
    assert 'id="step_free-1" checked' in page


def test_the_profile_gives_each_fact_its_source_and_date_and_says_when_it_is_stale(client):
    practice("Eben", step_free=(True, 30), lift=(False, 30), induction_loop=(True, 400))
    today = timezone.localdate()

    page = client.get("/en/specialists/eben/").text

    section = page.split('<dl class="accessibility">')[1].split("</dl>")[0]
    checked = (today - timedelta(days=30)).strftime("%m/%d/%Y")
    stale = (today - timedelta(days=400)).strftime("%m/%d/%Y")
    assert "<dt>Step-free entrance</dt><dd>Yes" in section
    assert f"confirmed {checked}; source: the practice" in section
    assert "<dt>Lift</dt><dd>No" in section
    assert f"Not confirmed since {stale}" in section
    with translation.override("de"):
        german = client.get("/de/specialists/eben/").text
    assert "<dt>Stufenloser Eingang</dt><dd>Ja" in german


def test_a_fact_that_reaches_its_age_leaves_the_filter_the_next_day(client):
    practice("Eben", step_free=(True, 303))
    rebuild_all()
    assert names(client, step_free="1") == {"Eben"}

    with override_settings(FACT_MAX_AGE_DAYS=300):
        assert names(client, step_free="1") == {"Eben"}  # the row as it was written
        call_command("refresh_facts", stdout=open("/dev/null", "w"))  # noqa: SIM115
        assert names(client, step_free="1") == set()


def test_the_structured_data_lists_the_current_facts(client):
    practice("Eben", step_free=(True, 30), lift=(False, 30), induction_loop=(True, 400))

    page = client.get("/en/specialists/eben/").text

    blocks = re.findall(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', page, re.S)
    physician = next(d for d in map(json.loads, blocks) if d["@type"] == "Physician")
    assert physician["amenityFeature"] == [
        {"@type": "LocationFeatureSpecification", "name": "Lift", "value": False},
        {"@type": "LocationFeatureSpecification", "name": "Step-free entrance", "value": True},
    ]


def test_the_filter_uses_its_index():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT 1 FROM directory_specialistsearch WHERE features @> %s::varchar[]",
            [[Feature.STEP_FREE.value]],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "search_features_gin" in plan, plan
