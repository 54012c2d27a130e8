"""Odd input on the pages of free times and bookings gets a clear answer, never a 500: broken
links, huge numbers, NUL characters, forms sent half or twice, formsets that lie about their
size, odd filter values and odd conditional headers."""

from datetime import time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from appointments import weekly_link
from directory.models import WeeklyTemplate, WeeklyTime
from directory.slots import weekly
from tests.factories import AffiliationFactory, free_slot, route_requests_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def odd_client():
    return Client(raise_request_exception=False)


@pytest.fixture
def slot(db):
    place = AffiliationFactory(location__clinic__email="praxis@example.org")
    route_requests_to(place.clinic, "praxis@example.org")
    return free_slot(place, (timezone.now() + timedelta(days=1)).replace(microsecond=0))


@pytest.mark.parametrize(
    "path",
    [
        "/en/book/99999999999999999999999/",
        "/en/book/0/",
        "/en/book/1/held/",
        "/en/bookings/confirm/%00/",
        "/en/bookings/cancel/not-a-token/",
        "/en/bookings/practice/" + "x" * 5000 + "/",
        "/en/practice/times/%00abc/",
        "/en/specialists/?free_soon=2",
        "/en/specialists/?free_soon=%00",
        "/en/specialists/?sort=earliest&sort=name",
        "/en/specialists/?sort=%00",
        "/slots/$bulk-publish?x=%00",
        "/slots/slots.ndjson",
    ],
)
def test_odd_addresses_get_a_clear_answer(odd_client, slot, path):
    response = odd_client.get(path)
    assert response.status_code in {200, 301, 302, 400, 404, 410}, path


@pytest.mark.parametrize(
    "data",
    [
        {"name": "Maria\x00", "email": "m@example.org", "phone": "1", "reason": "x"},
        {"name": "M" * 10_000, "email": "m" * 500 + "@example.org", "reason": "r" * 100_000},
        {"preferred_language": ["de", "en"], "consent": ["on", "off"]},
        {"name": "", "email": "", "phone": "", "reason": "", "preferred_language": "%%%"},
        {},
    ],
    ids=["nul", "huge", "twice", "empty-and-odd", "nothing"],
)
def test_odd_booking_forms_are_form_errors(odd_client, slot, data):
    response = odd_client.post(f"/en/book/{slot.pk}/", data)
    assert response.status_code == 400
    slot.refresh_from_db()
    assert slot.held_until is None


def test_odd_conditional_headers_on_our_feed(odd_client, slot):
    for header in ('W/"', "*", "\x00", '"' * 3000):
        response = odd_client.get("/slots/slots.ndjson", HTTP_IF_NONE_MATCH=header)
        assert response.status_code in {200, 304}


@pytest.mark.parametrize(
    "data",
    [
        {"times-TOTAL_FORMS": "99999999", "times-INITIAL_FORMS": "0"},
        {"times-TOTAL_FORMS": "x", "times-INITIAL_FORMS": "y"},
        {
            "times-TOTAL_FORMS": "1",
            "times-INITIAL_FORMS": "0",
            "times-0-weekday": "9",
            "times-0-starts": "25:99",
            "times-0-ends": "\x00",
            "times-0-minutes": "-5",
            "days-TOTAL_FORMS": "1",
            "days-INITIAL_FORMS": "0",
            "days-0-first_day": "2026-02-30",
            "days-0-last_day": "yesterday",
        },
    ],
    ids=["huge-formset", "not-numbers", "odd-values"],
)
def test_odd_weekly_times_from_the_practice_save_nothing_and_say_why(odd_client, data):
    place = AffiliationFactory()
    template = WeeklyTemplate.objects.create(affiliation=place)
    WeeklyTime.objects.create(
        template=template, weekday=1, starts=time(9), ends=time(10), minutes=20
    )
    weekly.regenerate(template.pk)
    token = weekly_link.token(template)
    response = odd_client.post(f"/en/practice/times/{token}/", data)
    assert response.status_code == 400
    assert list(template.times.values_list("weekday", flat=True)) == [1]
