"""Video consultations and home visits per place of work: a counted facet, on the cards and the
profile, with their source and date; a stale fact stops counting."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from directory.search.index import rebuild_all
from tests.factories import AffiliationFactory
from tests.test_search import found

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def practice(name: str, *, video=False, home=False, days=10):
    return AffiliationFactory(
        specialist__family_name=name,
        specialist__slug=name.lower(),
        location__clinic__name=f"Dienstprobe {name}",
        video_consultation=video,
        home_visits=home,
        services_source="practice",
        services_confirmed_on=timezone.localdate() - timedelta(days=days),
    )


@pytest.fixture
def offers(db):
    practice("Video", video=True)
    practice("Beides", video=True, home=True)
    practice("Besuch", home=True)
    practice("Veraltet", video=True, days=400)
    practice("Nichts")
    rebuild_all()


def search(client, **params):
    return client.get("/en/specialists/", {"q": "Dienstprobe", **params})


def names(response) -> set[str]:
    return set(found(response))


def test_the_facet_lists_exactly_those_who_offer_it_and_counts_them(client, offers):
    assert names(search(client, service="video")) == {"Video", "Beides"}
    assert names(search(client, service="home_visits")) == {"Beides", "Besuch"}
    either = search(client, service=["video", "home_visits"])
    assert names(either) == {"Video", "Beides", "Besuch"}
    page = search(client).text
    label = '<label for="service-video">Video consultations <span class="facet__count">(2)</span>'
    assert label in page  # the stale one is not counted
    assert search_status(client, service="phone") == 400


def search_status(client, **params) -> int:
    return client.get("/en/specialists/", {"q": "Dienstprobe", **params}).status_code


def test_the_cards_and_the_profile_say_it_and_a_stale_fact_is_not_shown_as_current(client, offers):
    cards = search(client).text.split('<article class="card')[1:]
    by_name = {re.search(r"Erika (\w+)<", card).group(1): card for card in cards}
    assert "Video consultations · Home visits" in by_name["Beides"]
    assert "Video consultations ·" not in by_name["Veraltet"]
    assert "Video consultations or home visits: not confirmed since" in by_name["Veraltet"]
    assert "card__services" not in by_name["Nichts"]

    profile = client.get("/en/specialists/beides/").text
    assert "Video consultations · Home visits" in profile
    assert "source: the practice" in profile
    stale = client.get("/en/specialists/veraltet/").text
    assert "Not confirmed since" in stale
    with translation.override("de"):
        german = client.get("/de/specialists/beides/").text
    assert "Videosprechstunde · Hausbesuche" in german
