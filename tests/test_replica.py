"""The primary/replica router: public page views read from the replica;
writes, the admin, the request forms and signed-in users use the primary. The replica here is a
second connection to the same test database (a Django test mirror)."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from tests.factories import AffiliationFactory, request_form_data

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture
def routed(settings):
    settings.DATABASE_ROUTERS = ["core.routers.PrimaryReplicaRouter"]


@pytest.fixture
def specialist():
    return AffiliationFactory(specialist__slug="lena-aurich").specialist


def queries(path_calls):
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = path_calls()
    return response, [q["sql"] for q in primary], [q["sql"] for q in replica]


@pytest.mark.parametrize(
    "path",
    [
        "/en/specialists/lena-aurich/",
        "/en/specialists/?q=aurich",  # raw SQL too (counts, page rows, the analysed query)
        "/de/clinics/",
        "/de/conditions/",
    ],
)
def test_public_pages_read_from_the_replica(client, routed, specialist, path):
    response, primary, replica = queries(lambda: client.get(path))

    assert response.status_code == 200
    assert primary == []
    assert replica


def test_the_request_form_writes_to_the_primary(client, routed, specialist):
    data = request_form_data()
    url = "/en/specialists/lena-aurich/request/"

    shown, _primary, replica_get = queries(lambda: client.get(url))
    sent, primary_post, replica_post = queries(lambda: client.post(url, data))

    assert shown.status_code == 200
    assert sent.status_code == 302
    assert replica_get == []
    assert replica_post == []
    assert any(sql.startswith("INSERT") for sql in primary_post)


def test_admin_and_signed_in_users_use_the_primary(client, routed, specialist, editor):
    client.force_login(editor)

    for path in ("/admin/directory/specialist/", "/en/specialists/lena-aurich/"):
        response, primary, replica = queries(lambda path=path: client.get(path))
        assert response.status_code == 200
        assert primary
        assert replica == []


def test_without_a_replica_everything_uses_the_primary(client, specialist):
    response, primary, replica = queries(lambda: client.get("/en/specialists/?q=aurich"))

    assert response.status_code == 200
    assert primary
    assert replica == []


@pytest.fixture
def page_cache_timeouts(monkeypatch):
    """The timeouts with which whole pages are put in the cache."""
    from django.core.cache import cache

    timeouts = []
    real_set = cache.set

    def recording_set(key, value, timeout=None, **kwargs):
        if ":page:" in key:
            timeouts.append(timeout)
        return real_set(key, value, timeout, **kwargs)

    monkeypatch.setattr(cache, "set", recording_set)
    return timeouts


def test_pages_read_from_a_replica_are_cached_only_briefly(
    client, routed, specialist, page_cache_timeouts
):
    from directory.search.keys import REPLICA_CACHE_SECONDS

    client.get("/en/specialists/lena-aurich/")

    assert page_cache_timeouts == [REPLICA_CACHE_SECONDS]


def test_pages_read_from_the_primary_are_cached_for_the_generation(
    client, specialist, page_cache_timeouts
):
    from directory.search import keys

    client.get("/en/specialists/lena-aurich/")

    assert page_cache_timeouts == [keys.CACHE_SECONDS]


def test_when_the_replica_is_down_public_pages_read_from_the_primary(client, routed, specialist):
    replica = connections["replica"]
    saved = {key: replica.settings_dict[key] for key in ("HOST", "PORT")}
    replica.close()
    replica.settings_dict.update(HOST="127.0.0.1", PORT="9")
    try:
        with CaptureQueriesContext(connections["default"]) as primary:
            response = client.get("/en/specialists/lena-aurich/")
    finally:
        replica.close()
        replica.settings_dict.update(saved)

    assert response.status_code == 200
    assert primary.captured_queries
