"""Limits no visitor can reset (core/rate_limits.py): the request form's rate limit is counted in
PostgreSQL, so a flood of junk URLs that fills the page cache cannot evict it, and every worker
and host counts together."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import caches
from django.test import Client, RequestFactory

from core import rate_limits
from core.models import RateLimitCount
from tests.factories import AffiliationFactory, ConditionFactory, request_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_page_cache(settings):
    """A page cache that holds few entries, so junk URLs evict what it holds."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "small",
            "OPTIONS": {"MAX_ENTRIES": 50, "CULL_FREQUENCY": 2},
        }
    }
    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture
def mid_window(monkeypatch):
    """The limits' clock stopped in the middle of an hour, a minute and a day: a test that takes
    seconds must not see its window end between two requests (fixed windows end on the hour)."""
    stopped = datetime(2026, 6, 15, 12, 30, 30, tzinfo=UTC)

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return stopped if tz is not None else stopped.replace(tzinfo=None)

    monkeypatch.setattr(rate_limits, "datetime", Clock)
    return stopped


def test_a_flood_of_junk_urls_between_two_posts_does_not_reset_the_limit(
    settings, small_page_cache, mid_window
):
    settings.APPOINTMENT_REQUESTS_PER_HOUR = 1
    ConditionFactory(slug="liver-metastases")
    specialist = AffiliationFactory().specialist
    url = f"/en/specialists/{specialist.slug}/request/"
    patient = Client(REMOTE_ADDR="203.0.113.5")

    assert patient.post(url, request_form_data()).status_code == 302
    attacker = Client(REMOTE_ADDR="198.51.100.1")
    for number in range(300):  # each a new page cache entry
        attacker.get("/en/conditions/liver-metastases/", {"utm": number})
    limited = patient.post(url, request_form_data())

    assert limited.status_code == 429
    assert 0 < int(limited["Retry-After"]) <= 3600


def test_every_worker_counts_together(settings):
    """Two app servers are two processes with their own caches; the count is in the database."""
    settings.APPOINTMENT_REQUESTS_PER_HOUR = 1
    specialist = AffiliationFactory().specialist
    url = f"/en/specialists/{specialist.slug}/request/"

    assert Client(REMOTE_ADDR="203.0.113.5").post(url, request_form_data()).status_code == 302
    caches["default"].clear()  # another worker's empty cache
    assert Client(REMOTE_ADDR="203.0.113.5").post(url, request_form_data()).status_code == 429


def test_counts_are_per_client_window_and_scope_and_hold_no_address():
    factory = RequestFactory()
    one, other = factory.post("/", REMOTE_ADDR="203.0.113.5"), factory.post("/", REMOTE_ADDR="::1")
    start = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)

    counts = [
        rate_limits.hit("form", one, limit=2, window=3600, now=start).count,
        rate_limits.hit("form", one, limit=2, window=3600, now=start + timedelta(minutes=5)).count,
        rate_limits.hit("form", other, limit=2, window=3600, now=start).count,
        rate_limits.hit("api", one, limit=2, window=3600, now=start).count,
        rate_limits.hit("form", one, limit=2, window=3600, now=start + timedelta(hours=1)).count,
    ]

    assert counts == [1, 2, 1, 1, 1]
    third = rate_limits.hit("form", one, limit=2, window=3600, now=start + timedelta(minutes=59))
    assert third.over
    assert third.retry_after == 60
    assert not RateLimitCount.objects.filter(key__contains="203.0.113").exists()


def test_passed_windows_are_forgotten():
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.5")
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    rate_limits.hit("form", request, limit=1, window=3600, now=now - timedelta(days=3))
    rate_limits.hit("form", request, limit=1, window=3600, now=now)

    assert rate_limits.forget_passed_windows(now=now) == 1
    assert RateLimitCount.objects.count() == 1


def test_an_admin_lock_out_survives_an_emptied_cache(settings):
    """django-axes keeps failed logins in PostgreSQL too (its database handler)."""
    from tests.factories import EditorFactory

    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"
    EditorFactory(username="erika", password="right-password-1")
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for attempt in range(5):
        attacker.post("/admin/login/", {"username": "erika", "password": f"wrong-{attempt}"})
    caches["default"].clear()

    locked = attacker.post("/admin/login/", {"username": "erika", "password": "right-password-1"})

    assert locked.status_code == 429
