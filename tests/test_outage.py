"""Database outages: while PostgreSQL cannot be reached, /healthz and pages
answer 503 with the friendly page, never 500; when it is back, the same process serves again
without a restart. These use the real server, not mocks."""

import socket
import threading

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import translation
from django.utils.translation import gettext

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def unreachable_database():
    """Point the connection at a port where nothing listens, as when the server is down."""
    saved = {key: connection.settings_dict.get(key) for key in ("HOST", "PORT")}

    def down():
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT="9")

    def up():
        connection.close()
        connection.settings_dict.update(saved)

    yield down, up
    up()


def test_an_outage_gives_503_and_the_same_process_recovers(unreachable_database):
    down, up = unreachable_database
    client = Client(raise_request_exception=False)
    assert client.get("/en/specialists/").status_code == 200

    down()
    health = client.get("/healthz")
    page = client.get("/de/specialists/?q=leber")  # not cached: it needs the database
    form = client.post("/en/specialists/someone/request/", {"name": "x"})
    # The page's language comes from its address, not from the database.
    others = {language: client.get(f"/{language}/specialists/?q=x") for language in ("fr", "it")}

    assert health.status_code == 503
    assert page.status_code == 503
    assert "Kurz nicht erreichbar" in page.content.decode()
    assert "Traceback" not in page.content.decode()
    assert page["Retry-After"] == "30"
    assert form.status_code == 503
    for language, other in others.items():
        with translation.override(language):
            heading = gettext("Briefly unavailable")
        assert other.status_code == 503
        assert heading != "Briefly unavailable"
        assert f"<h1>{heading}</h1>" in other.content.decode()

    up()
    assert client.get("/healthz").status_code == 200
    assert client.get("/de/specialists/?q=leber").status_code == 200


def _serve(path: str) -> int:
    """One request through Django's WSGI handler, as a gunicorn worker makes it: with the
    per-request connection checks that Django's test client leaves out."""
    environ = RequestFactory().get(path).environ
    statuses = []
    body = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
    b"".join(body)
    body.close()  # request_finished: connections that failed are closed here
    return int(statuses[0].split()[0])


def test_connections_dropped_by_the_server_are_replaced_on_the_next_request():
    assert _serve("/en/specialists/?q=a") == 200
    backend = connection.connection.info.backend_pid

    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])

    assert _serve("/healthz") == 200
    assert _serve("/en/specialists/?q=b") == 200
    assert connection.connection.info.backend_pid != backend


@pytest.fixture
def frozen_database():
    """A server that accepts connections and never answers, as a frozen PostgreSQL does."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    saved = {key: connection.settings_dict.get(key) for key in ("HOST", "PORT")}
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(listener.getsockname()[1]))
    yield
    connection.close()
    connection.settings_dict.update(saved)
    listener.close()


def answered_within(seconds: float, call):
    """Run `call` in a thread; its result, or None if it is still waiting after `seconds` (a
    hang detector, not a speed test)."""
    results = []
    worker = threading.Thread(target=lambda: results.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    return results[0] if results else None


def test_healthz_answers_503_while_the_database_is_frozen(frozen_database):
    response = answered_within(10, lambda: Client().get("/healthz"))

    assert response is not None, "/healthz waited for the frozen database"
    assert response.status_code == 503


def test_a_statement_that_runs_too_long_gives_the_friendly_503(settings, monkeypatch):
    """Web requests get DATABASE_STATEMENT_TIMEOUT (config/wsgi.py switches it on)."""
    from core import statement_timeout
    from directory import views

    settings.DATABASE_STATEMENT_TIMEOUT = 1

    def slow(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")

    monkeypatch.setattr(views.SpecialistList, "__init__", slow)
    statement_timeout.limit_web_requests()
    connection.close()  # the next connection gets the limit
    try:
        response = Client(raise_request_exception=False).get("/en/specialists/")
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            limit = cursor.fetchone()[0]
    finally:
        statement_timeout.stop_limiting()
        connection.close()

    assert limit == "1s"
    assert response.status_code == 503
    assert "Traceback" not in response.content.decode()
