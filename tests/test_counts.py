"""Counts after a change to the listings (directory.search.keys.fresh_or_stale): the last counts
serve at once while one recomputation per list runs outside the request; the total stays exact
up to EXACT_UP_TO and says "about" above it; the filters say their numbers may be old; pages
made with stale counts are not kept in the page cache; the vocabulary outlives listing edits."""

import re
import threading

import pytest
from django.core.cache import cache

from directory.search import keys, lists
from tests.factories import AffiliationFactory, ConditionFactory, SpecialistFactory

URL = "/en/specialists/"
STALE_NOTE = "The numbers beside the filters are being updated"


def heading(response) -> str:
    text = response.content.decode()
    found = re.search(r'<h2 id="results-heading">\s*(.*?)\s*</h2>', text, re.S)
    return " ".join(found.group(1).split())


def insurance_count(response, value: str) -> int:
    text = response.content.decode()
    label = re.search(
        rf'for="insurance-{value}">[^<]*<span class="facet__count">\(([\d,]+)\)', text
    )
    return int(label.group(1).replace(",", ""))


@pytest.fixture
def five(db):
    return [
        AffiliationFactory(specialist__insurance=["statutory"], location__city="Erfurt").specialist
        for _ in range(5)
    ]


@pytest.mark.django_db
def test_after_a_change_the_last_counts_serve_and_the_total_stays_exact(client, five):
    first = client.get(URL)
    assert heading(first) == "5 specialists found"
    assert STALE_NOTE not in first.content.decode()

    AffiliationFactory(specialist__insurance=["statutory"], location__city="Erfurt")

    stale = client.get(URL)
    # The total is counted again (it is small); the facets are the last ones, and say so.
    assert heading(stale) == "6 specialists found"
    assert insurance_count(stale, "statutory") == 5
    assert STALE_NOTE in stale.content.decode()
    # The recomputation ran (in place in the tests): the next visitor has fresh counts.
    fresh = client.get(URL)
    assert insurance_count(fresh, "statutory") == 6
    assert STALE_NOTE not in fresh.content.decode()


@pytest.mark.django_db
def test_above_the_exact_limit_a_stale_total_is_an_estimate_and_says_so(client, five, monkeypatch):
    monkeypatch.setattr(lists, "EXACT_UP_TO", 3)
    assert heading(client.get(URL)) == "5 specialists found"  # fresh: exact at any size

    SpecialistFactory(status="published")  # no place of work: found as well
    assert heading(client.get(URL)) == "About 5 specialists found"
    assert heading(client.get(URL)) == "6 specialists found"


def test_an_estimate_is_rounded_to_three_digits():
    listing = lists.SpecialistList.__new__(lists.SpecialistList)
    listing.total_is_estimate = True
    for total, shown in [
        (312_457, 312_000),
        (10_001, 10_000),
        (99_951, 100_000),
        (1_234_567, 1_230_000),
    ]:
        listing.total = total
        assert listing.total_shown == shown
    listing.total_is_estimate = False
    listing.total = 312_457
    assert listing.total_shown == 312_457


@pytest.mark.django_db
def test_a_condition_page_made_with_stale_counts_is_kept_a_few_seconds_only(
    client, five, monkeypatch
):
    import time as real_time

    from django.core.cache.backends import locmem

    monkeypatch.setattr(keys, "STALE_PAGE_SECONDS", 5)

    condition = ConditionFactory(slug="liver-metastases-test")
    for specialist in five:
        specialist.conditions.add(condition)
    url = f"/en/conditions/{condition.slug}/"
    assert "5 specialists found" in client.get(url).content.decode()

    newcomer = AffiliationFactory(location__city="Erfurt").specialist
    newcomer.conditions.add(condition)
    stale = client.get(url).content.decode()
    assert "6 specialists found" in stale  # exact: few
    assert STALE_NOTE in stale
    assert client.get(url).content.decode() == stale  # from the page cache, for a moment
    later = real_time.time() + keys.STALE_PAGE_SECONDS + 1
    monkeypatch.setattr(locmem.time, "time", lambda: later)
    # Then a new page, with the counts made again meanwhile.
    assert STALE_NOTE not in client.get(url).content.decode()


@pytest.mark.django_db
def test_changes_to_listings_keep_the_vocabulary_and_taxonomy_changes_renew_it(db, five):
    taxonomy = keys.generation(keys.TAXONOMY_GENERATION_KEY)
    counts = keys.generation()
    five[0].languages = ["de", "fr"]
    five[0].save()
    assert keys.generation() != counts
    assert keys.generation(keys.TAXONOMY_GENERATION_KEY) == taxonomy
    ConditionFactory(name_en="Glass bone disease")
    assert keys.generation(keys.TAXONOMY_GENERATION_KEY) != taxonomy


# --- fresh_or_stale itself -------------------------------------------------------------------


class Counter:
    def __init__(self, *values):
        self.values = list(values)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        value = self.values.pop(0)
        if isinstance(value, Exception):
            raise value
        return value


def test_a_result_is_computed_once_per_generation():
    compute = Counter("a")
    assert keys.fresh_or_stale("test:k", compute).value == "a"
    result = keys.fresh_or_stale("test:k", compute)
    assert (result.value, result.fresh, compute.calls) == ("a", True, 1)


def test_a_stale_result_serves_while_one_recomputation_runs(db):
    compute = Counter("old", "new", "newer")
    keys.fresh_or_stale("test:k", compute)
    keys.bump_generation()

    stale = keys.fresh_or_stale("test:k", compute)
    assert (stale.value, stale.fresh) == ("old", False)
    assert compute.calls == 2  # recomputed (in place in the tests) after reading the stale one
    fresh = keys.fresh_or_stale("test:k", compute)
    assert (fresh.value, fresh.fresh) == ("new", True)

    # A change right after: within REFRESH_INTERVAL no second recomputation starts.
    keys.bump_generation()
    assert keys.fresh_or_stale("test:k", compute).value == "new"
    assert keys.fresh_or_stale("test:k", compute).value == "new"
    assert compute.calls == 2
    cache.delete("test:k:refresh")  # the interval is over
    assert keys.fresh_or_stale("test:k", compute).value == "new"
    assert compute.calls == 3
    assert keys.fresh_or_stale("test:k", compute).value == "newer"


def test_a_failed_recomputation_keeps_the_stale_result(db, caplog):
    compute = Counter("old", RuntimeError("database gone"))
    keys.fresh_or_stale("test:k", compute)
    keys.bump_generation()

    assert keys.fresh_or_stale("test:k", compute).value == "old"
    assert keys.fresh_or_stale("test:k", compute).value == "old"
    assert "Search cache refresh failed (RuntimeError)" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_in_production_the_recomputation_runs_in_a_thread_of_its_own(client, settings, gazetteer):
    settings.SEARCH_REFRESH_IN_BACKGROUND = True
    for _ in range(3):
        AffiliationFactory(specialist__insurance=["private"], location__city="Erfurt")
    assert insurance_count(client.get(URL), "private") == 3
    AffiliationFactory(specialist__insurance=["private"], location__city="Erfurt")

    release = threading.Event()
    entered = threading.Event()
    original = lists.SpecialistList._count
    threads = []

    def slow_count(listing):
        threads.append(threading.current_thread())
        entered.set()
        release.wait(10)
        return original(listing)

    lists.SpecialistList._count = slow_count
    try:
        stale = client.get(URL)  # answers while the count waits
        assert insurance_count(stale, "private") == 3
        assert entered.wait(10)  # the count started, in a thread of its own
        assert threads[0] is not threading.main_thread()
        release.set()
        keys.wait_for_refreshes()
    finally:
        lists.SpecialistList._count = original
    assert insurance_count(client.get(URL), "private") == 4


@pytest.mark.parametrize("slots", [1, 2])
def test_at_most_max_refreshes_run_at_once_on_the_whole_site(db, settings, monkeypatch, slots):
    """The slots are in the shared cache: every process and app server takes from them."""
    monkeypatch.setattr(keys, "MAX_REFRESHES", slots)
    settings.SEARCH_REFRESH_IN_BACKGROUND = True
    release = threading.Event()

    def slow(name):
        def compute():
            release.wait(10)
            return name

        return compute

    for number in range(4):
        keys.fresh_or_stale(f"test:{number}", lambda number=number: number)
    keys.bump_generation()
    try:
        for number in range(4):
            keys.fresh_or_stale(f"test:{number}", slow(number))
        assert len(keys._running) == slots
        assert all(cache.get(f"search:refresh-slot:{n}") for n in range(slots))
    finally:
        release.set()
        keys.wait_for_refreshes()
    # The slots are free again; those refused get their turn with a later visitor (their
    # lock was given back), those that ran not before the interval is over.
    assert not any(cache.get(f"search:refresh-slot:{n}") for n in range(slots))
    assert [cache.get(f"test:{n}:refresh") for n in range(4)] == [1] * slots + [None] * (4 - slots)


def test_a_recomputation_in_its_thread_reads_the_primary(db, settings):
    """Pages may read a lagging replica; what is kept as fresh for the generation may not."""
    from core import routers

    settings.SEARCH_REFRESH_IN_BACKGROUND = True
    keys.fresh_or_stale("test:k", lambda: "old")
    keys.bump_generation()
    seen = []
    token = routers._read_from_replica.set(True)  # as a public page view with a replica
    try:
        assert routers.PrimaryReplicaRouter().db_for_read(None) == routers.REPLICA
        keys.fresh_or_stale(
            "test:k",
            lambda: seen.append(routers.PrimaryReplicaRouter().db_for_read(None)) or "new",
        )
        keys.wait_for_refreshes()
    finally:
        routers._read_from_replica.reset(token)
    assert seen == [routers.PRIMARY]


# --- Rows and cards after a change -----------------------------------------------------------


def names_on(response) -> list[str]:
    return re.findall(r'<h3 class="card__title"><a [^>]*>([^<]+)</a>', response.content.decode())


@pytest.mark.django_db
def test_a_change_shows_at_once_in_the_rows_and_renders_only_its_own_card(
    client, five, monkeypatch
):
    first = client.get(URL)
    assert len(names_on(first)) == 5
    rendered = []
    original = lists.SpecialistList._render

    def counting(listing, cards, field_ids):
        rendered.extend(card.pk for card in cards)
        return original(listing, cards, field_ids)

    monkeypatch.setattr(lists.SpecialistList, "_render", counting)
    changed = five[2]
    changed.family_name = "Aaberg"  # first in the list now
    changed.save()
    after = client.get(URL)
    assert names_on(after)[0].endswith("Aaberg")
    assert rendered == [changed.pk]  # the other four cards came from the cache


@pytest.mark.django_db
def test_short_and_long_lists_are_in_the_same_order(client, five, monkeypatch):
    """Sorting the matches (short lists) and walking the name index (long ones) agree."""
    condition = ConditionFactory(slug="gallstones-test")
    for position, specialist in enumerate(five):
        specialist.conditions.add(condition)
        if position % 2:
            specialist.conditions.add(ConditionFactory())  # another one first in some foci
    orders = []
    for limit in (0, 1_000_000):
        monkeypatch.setattr(lists, "SORT_UP_TO", limit)
        cache.clear()
        for query in ({}, {"condition": condition.slug}, {"q": five[0].family_name}):
            orders.append((limit, str(query), names_on(client.get(URL, query))))
    walked = [order[1:] for order in orders if order[0] == 0]
    sorted_ = [order[1:] for order in orders if order[0] != 0]
    assert walked == sorted_
    assert all(names for _query, names in walked)


# --- Whatever names listings is never stale --------------------------------------------------


@pytest.mark.django_db
def test_a_change_the_search_does_not_see_shows_at_once_on_a_page_seen_before(client, five):
    """A new position rewrites the search row but not what the search sees (the counts stay
    fresh): the page's rows and the card are made again all the same."""
    counts = keys.generation()
    client.get(URL)
    five[1].headline_en = "Head of the liver unit"
    five[1].save()
    assert keys.generation() == counts
    assert "Head of the liver unit" in client.get(URL).content.decode()


@pytest.mark.django_db
def test_an_unpublished_clinic_leaves_the_condition_page_at_once(client, five):
    condition = ConditionFactory(slug="gallstones-clinics")
    for specialist in five:
        specialist.conditions.add(condition)
    clinic = five[0].affiliations.get().clinic
    url = f"/en/conditions/{condition.slug}/"
    assert clinic.name in client.get(url).content.decode()

    clinic.status = "draft"
    clinic.save()
    assert clinic.name not in client.get(url).content.decode()


@pytest.mark.django_db
def test_an_unpublished_specialist_is_no_longer_suggested(client, five):
    five[0].family_name = "Zwingli"
    five[0].save()

    def suggested() -> list[str]:
        answer = client.get("/en/suggest/", {"q": "Zwing"}).json()["suggestions"]
        return [s["label"] for s in answer if s["kind"] == "specialist"]

    assert any("Zwingli" in label for label in suggested())
    five[0].status = "draft"
    five[0].save()
    assert suggested() == []


def test_a_slot_that_ran_out_and_was_taken_again_is_not_freed_by_its_first_holder():
    first = keys._take_slot()
    cache.delete(first[0])  # it ran out (SLOT_SECONDS) while its count went on
    second = keys._take_slot()
    assert second[0] == first[0]
    keys._give_back(first)  # the first count ends
    assert cache.get(second[0]) == second[1]
    keys._give_back(second)
    assert cache.get(second[0]) is None
