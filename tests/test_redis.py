"""The shared cache: with REDIS_URL, Django's Redis backend. Two app servers
are two processes with two cache clients; what one changes, the other sees: the generation that
retires cached pages. (The request form's rate limit is not kept in the cache at all: see
tests/test_rate_limits.py.)"""

import importlib
import os

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client

from directory.search import keys
from tests.factories import AffiliationFactory

pytestmark = pytest.mark.django_db

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_cache(settings):
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")  # in CI a failure (ci_skips.py)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        },
        # A second app server's client of the same Redis.
        "other": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
    }
    caches["default"].clear()
    yield caches
    caches["default"].clear()


def test_redis_url_selects_djangos_redis_backend(monkeypatch):
    import config.settings

    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    try:
        configured = importlib.reload(config.settings).CACHES["default"]
    finally:
        monkeypatch.undo()
        importlib.reload(config.settings)

    assert configured == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6379/0",
    }


def test_pages_and_generations_are_shared_by_every_app_server(redis_cache):
    assert isinstance(redis_cache["default"], RedisCache)
    specialist = AffiliationFactory(specialist__headline="Consultant").specialist
    url = f"/en/specialists/{specialist.slug}/"
    assert "Consultant" in Client().get(url).text
    before = redis_cache["other"].get(keys.CARDS_GENERATION_KEY)

    specialist.headline = "Head of department"
    specialist.save()  # on this server

    assert redis_cache["other"].get(keys.CARDS_GENERATION_KEY) != before
    assert "Head of department" in Client().get(url).text
