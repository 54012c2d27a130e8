import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from tests.factories import EditorFactory, UserFactory

# tests.ci_skips: in CI a skipped test fails unless allowed; pytester: tests of that plugin.
pytest_plugins = ["tests.ci_skips", "pytester"]


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: cached pages and counts of one test's data must not
    answer another's requests."""
    cache.clear()


@pytest.fixture(autouse=True)
def stale_pages_not_kept(monkeypatch):
    """A page made with stale counts is kept a few seconds in production; tests that change data
    and ask again at once want the new counts, so here it is not kept at all.
    tests/test_counts.py tests the few seconds."""
    from directory.search import keys

    monkeypatch.setattr(keys, "STALE_PAGE_SECONDS", 0)


@pytest.fixture
def editor(db):
    """Erika, a member of the Editors group."""
    return EditorFactory(username="erika")


@pytest.fixture
def outsider(db):
    """Otto, a registered user who is neither staff nor editor."""
    return UserFactory(username="otto")


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language. A request to /fr/ leaves French active in the
    test's thread (LocaleMiddleware activates the page's language and nothing deactivates it),
    and the next test would inherit it."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def german_client() -> Client:
    """A client whose browser asks for German."""
    return Client(headers={"accept-language": "de-DE,de;q=0.9"})


def pytest_collection_modifyitems(items):
    """Browser tests run last: as transactional tests they end with a flush, which empties the
    gazetteer that the migration loaded and the other tests rely on."""
    items.sort(key=lambda item: "browser" in item.nodeid.split("/"))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database has the reference places too (names in four languages, districts,
    postcodes), as `make run` loads them; the migrations load the towns."""
    from django.db import connection

    from directory.places import load_reference_places

    with django_db_blocker.unblock():
        load_reference_places()
        # A copy outside Django's tables, which a transactional test's flush leaves alone, so
        # the `gazetteer` fixture can put the places back in a moment.
        with connection.cursor() as cursor:
            cursor.execute("CREATE SCHEMA IF NOT EXISTS kept_for_tests")
            for table in GAZETTEER_TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS kept_for_tests.{table}")
                cursor.execute(f"CREATE TABLE kept_for_tests.{table} AS TABLE {table}")


# The gazetteer's tables, parents first.
GAZETTEER_TABLES = ["directory_place", "directory_postcode"]


@pytest.fixture
def gazetteer(transactional_db):
    """For transactional tests (browser tests): the gazetteer as the session loaded it, after an
    earlier transactional test's flush emptied it."""
    from django.db import connection

    from directory.models import Place

    if Place.objects.exists():
        return
    with connection.cursor() as cursor:
        for table in GAZETTEER_TABLES:
            # The table names are GAZETTEER_TABLES', never input.
            cursor.execute(f"INSERT INTO {table} SELECT * FROM kept_for_tests.{table}")  # noqa: S608
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )


@pytest.fixture
def demo_pages(db):
    """The privacy policy, legal notice, contact page and editorial policy of fixtures/pages/,
    as `manage.py load_demo` adds them."""
    from content.demo import load_demo_pages

    load_demo_pages()


@pytest.fixture
def vocabulary(db):
    """The reference vocabulary of medical fields and conditions (directory/reference/)."""
    from directory.reference import load_taxonomy

    load_taxonomy()
