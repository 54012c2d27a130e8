import pytest
from django.core.exceptions import ImproperlyConfigured

from config.database import database_settings
from config.env import env_bool, env_int, env_lines, env_list, env_str


def test_env_bool_reads_common_words(monkeypatch):
    monkeypatch.setenv("DEBUG", "yes")
    assert env_bool("DEBUG", default=False) is True
    monkeypatch.setenv("DEBUG", "0")
    assert env_bool("DEBUG", default=True) is False


def test_env_bool_names_the_variable_when_the_value_is_malformed(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env_bool("DEBUG", default=False)


def test_env_int_names_the_variable_when_not_a_number(monkeypatch):
    monkeypatch.setenv("APPOINTMENT_RETENTION_DAYS", "half a year")
    with pytest.raises(ImproperlyConfigured, match="APPOINTMENT_RETENTION_DAYS"):
        env_int("APPOINTMENT_RETENTION_DAYS", 180)


def test_env_int_enforces_its_minimum(monkeypatch):
    monkeypatch.setenv("APPOINTMENT_RETENTION_DAYS", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("APPOINTMENT_RETENTION_DAYS", 180, minimum=1)


def test_unset_and_empty_variables_fall_back_to_the_default(monkeypatch):
    monkeypatch.delenv("EMAIL_HOST", raising=False)
    assert env_str("EMAIL_HOST", "fallback") == "fallback"
    monkeypatch.setenv("ALLOWED_HOSTS", "")
    assert env_list("ALLOWED_HOSTS", ["localhost"]) == ["localhost"]


def test_env_list_splits_on_commas_and_trims(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", " example.org, www.example.org ,")
    assert env_list("ALLOWED_HOSTS", []) == ["example.org", "www.example.org"]


def test_env_lines_splits_an_address_on_bars_or_line_breaks(monkeypatch):
    monkeypatch.setenv("OPERATOR_ADDRESS", " Musterstraße 1 | 12345 Musterstadt ||Germany ")
    assert env_lines("OPERATOR_ADDRESS", []) == ["Musterstraße 1", "12345 Musterstadt", "Germany"]
    monkeypatch.setenv("OPERATOR_ADDRESS", "Hauptplatz 2\n8010 Graz\n")
    assert env_lines("OPERATOR_ADDRESS", []) == ["Hauptplatz 2", "8010 Graz"]
    monkeypatch.setenv("OPERATOR_ADDRESS", "")
    assert env_lines("OPERATOR_ADDRESS", ["default"]) == ["default"]


def test_database_url_is_parsed_with_health_checked_persistent_connections():
    settings = database_settings("postgres://app:secret@db.internal:6432/specialists")

    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert (settings["HOST"], settings["PORT"], settings["NAME"]) == (
        "db.internal",
        6432,
        "specialists",
    )
    assert settings["CONN_MAX_AGE"] > 0
    assert settings["CONN_HEALTH_CHECKS"] is True


def test_database_name_picks_another_database_on_the_same_server(monkeypatch):
    monkeypatch.setenv("DATABASE_NAME", "specialists_bench")
    settings = database_settings("postgres://app:secret@db.internal:6432/specialists")
    assert (settings["HOST"], settings["NAME"]) == ("db.internal", "specialists_bench")


@pytest.mark.parametrize(
    "url", ["mysql://root@localhost/specialists", "postgres://app@localhost", "not a url"]
)
def test_database_url_that_is_not_postgresql_with_a_name_is_refused(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_settings(url)


def test_settings_refuse_to_start_without_secret_key_when_debug_is_off(monkeypatch):
    import importlib

    import config.settings

    monkeypatch.setenv("DEBUG", "0")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    try:
        with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
            importlib.reload(config.settings)
    finally:
        monkeypatch.setenv("SECRET_KEY", "test-only-secret-key")
        importlib.reload(config.settings)


def settings_from(monkeypatch, **environment):
    """config.settings as read with these variables set (and reread as before afterwards)."""
    import importlib

    import config.settings

    for name, value in environment.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    try:
        module = importlib.reload(config.settings)
        return {name: getattr(module, name) for name in dir(module) if name.isupper()}
    finally:
        monkeypatch.undo()
        importlib.reload(config.settings)


def test_database_replica_url_turns_the_replica_router_on(monkeypatch):
    url = "postgres://reader:secret@replica.internal:5433/specialists"
    read = settings_from(monkeypatch, DATABASE_REPLICA_URL=url)
    assert read["DATABASE_ROUTERS"] == ["core.routers.PrimaryReplicaRouter"]
    replica = read["DATABASES"]["replica"]
    assert (replica["HOST"], replica["PORT"], replica["USER"]) == (
        "replica.internal",
        5433,
        "reader",
    )
    assert replica["OPTIONS"]["connect_timeout"] == 3  # give up soon, read from the primary

    without = settings_from(monkeypatch, DATABASE_REPLICA_URL=None)
    assert without["DATABASE_ROUTERS"] == []
    assert "replica" not in without["DATABASES"]


def test_behind_tls_proxy_trusts_the_forwarded_protocol(monkeypatch):
    read = settings_from(monkeypatch, BEHIND_TLS_PROXY="1", TRUSTED_PROXIES="10.0.0.0/8")
    assert read["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert read["TRUSTED_PROXIES"] == ["10.0.0.0/8"]

    assert settings_from(monkeypatch, BEHIND_TLS_PROXY=None)["SECURE_PROXY_SSL_HEADER"] is None


def test_a_malformed_trusted_proxy_stops_start_up_naming_the_variable(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        settings_from(monkeypatch, TRUSTED_PROXIES="10.0.0.0/33")


def test_debug_is_off_unless_the_environment_turns_it_on(monkeypatch):
    read = settings_from(monkeypatch, DEBUG=None, SECRET_KEY="k")
    assert read["DEBUG"] is False
    assert read["ALLOWED_HOSTS"] == []
    assert settings_from(monkeypatch, DEBUG="1")["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]


def test_django_serves_uploads_only_while_debug_is_on_or_when_told(monkeypatch):
    assert settings_from(monkeypatch, DEBUG="1", SERVE_MEDIA=None)["SERVE_MEDIA"] is True
    production = settings_from(monkeypatch, DEBUG="0", SECRET_KEY="k", SERVE_MEDIA=None)
    assert production["SERVE_MEDIA"] is False
    audit = settings_from(monkeypatch, DEBUG="0", SECRET_KEY="k", SERVE_MEDIA="1")
    assert audit["SERVE_MEDIA"] is True


def test_mail_is_printed_only_while_debug_is_on(monkeypatch):
    development = settings_from(monkeypatch, DEBUG="1", EMAIL_HOST=None)
    assert development["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    production = settings_from(monkeypatch, DEBUG="0", SECRET_KEY="k", EMAIL_HOST=None)
    assert production["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert production["EMAIL_HOST"] == "localhost"  # never the console: mail carries health data
    assert production["DEFAULT_FROM_EMAIL"] == "noreply@localhost"


def test_documented_defaults(monkeypatch):
    read = settings_from(
        monkeypatch,
        **dict.fromkeys(
            [
                "APPOINTMENT_RETENTION_DAYS",
                "APPOINTMENT_INBOX_EMAIL",
                "APPOINTMENT_REQUESTS_PER_HOUR",
                "TRUSTED_PROXIES",
                "MEDIA_ROOT",
                "REDIS_URL",
            ]
        ),
    )
    assert read["APPOINTMENT_RETENTION_DAYS"] == 180
    assert read["APPOINTMENT_INBOX_EMAIL"] == "appointments@localhost"
    assert read["APPOINTMENT_REQUESTS_PER_HOUR"] == 10
    assert read["TRUSTED_PROXIES"] == ["127.0.0.1", "::1"]
    assert read["MEDIA_ROOT"] == read["BASE_DIR"] / "media"
    assert read["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")
    from django.conf import global_settings

    engine = read.get("SESSION_ENGINE", global_settings.SESSION_ENGINE)
    assert engine == "django.contrib.sessions.backends.db"  # shared by every app host


def test_a_redis_url_of_another_kind_stops_start_up_naming_the_variable(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        settings_from(monkeypatch, REDIS_URL="http://cache.internal:6379")


def test_without_database_url_the_embedded_server_is_used(monkeypatch):
    from config import database

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_NAME", raising=False)
    monkeypatch.setattr(
        database, "_embedded_settings", lambda: {"HOST": "/sockets", "NAME": "specialists"}
    )
    assert database_settings()["HOST"] == "/sockets"
    assert database_settings()["NAME"] == database.EMBEDDED_DATABASE_NAME == "specialists"


def gunicorn_settings(monkeypatch, **environment) -> dict:
    import runpy
    from pathlib import Path

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    path = Path(__file__).resolve().parent.parent / "config" / "gunicorn_settings.py"
    return runpy.run_path(str(path))


def test_gunicorn_defaults_and_overrides(monkeypatch):
    import multiprocessing

    for name in ("GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    read = gunicorn_settings(monkeypatch)
    assert read["bind"] == "127.0.0.1:8000"
    assert read["workers"] == multiprocessing.cpu_count() * 2 + 1
    assert read["timeout"] == 30
    assert gunicorn_settings(monkeypatch, GUNICORN_WORKERS="3")["workers"] == 3


def test_a_malformed_gunicorn_value_names_the_variable(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="GUNICORN_WORKERS"):
        gunicorn_settings(monkeypatch, GUNICORN_WORKERS="many")


def test_port_changes_the_port_of_make_run():
    import shutil
    import subprocess
    from pathlib import Path

    make = shutil.which("make")
    assert make, "make is part of the two commands"
    result = subprocess.run(  # noqa: S603 - a fixed command, printed not run (-n)
        [make, "-n", "run", "PORT=8080"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "runserver 127.0.0.1:8080" in result.stdout
