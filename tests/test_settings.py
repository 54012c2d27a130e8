import pytest
from django.core.exceptions import ImproperlyConfigured

from config.database import database_settings
from config.env import env_bool, env_int, env_list, env_str


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
