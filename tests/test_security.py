"""Production hardening: the deployment check, security headers with a
Content-Security-Policy that allows nothing inline, throttled admin logins, staff only."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import AffiliationFactory, EditorFactory, UserFactory, request_form_data

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def check_deploy(**variables) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "directory.example",
        "OPERATOR_NAME": "Atlas Operator GmbH",
        "OPERATOR_ADDRESS": "Prüfweg 7|10115 Berlin|Germany",
        "OPERATOR_EMAIL": "contact@directory.example",
        **variables,
    }
    # Set by the test run itself (browser tests, make's DEBUG default), never in production.
    for name in ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    if env.get("REDIS_URL") == "":
        env.pop("REDIS_URL")
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = check_deploy(REDIS_URL="redis://cache.internal:6379/0")

    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_fails_when_several_workers_would_have_a_cache_each():
    result = check_deploy(REDIS_URL="", GUNICORN_WORKERS="3")

    assert result.returncode != 0
    assert "atlas.E001" in result.stderr + result.stdout


def test_check_deploy_fails_when_the_operator_is_not_named():
    """The legal notice, the contact page and the privacy policy must say who runs the site."""
    result = check_deploy(
        REDIS_URL="redis://cache.internal:6379/0", OPERATOR_NAME="", OPERATOR_ADDRESS=""
    )

    assert result.returncode != 0
    output = result.stderr + result.stdout
    assert "atlas.E002" in output
    assert "OPERATOR_NAME, OPERATOR_ADDRESS not set" in output


def test_one_process_may_keep_its_cache_to_itself():
    result = check_deploy(REDIS_URL="", GUNICORN_WORKERS="", WEB_CONCURRENCY="1")

    assert result.returncode == 0, result.stderr + result.stdout


def test_the_web_server_refuses_to_start_with_several_workers_and_a_cache_each():
    """As gunicorn's workers load config/wsgi.py: an error, not a warning."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "directory.example",
        "GUNICORN_WORKERS": "3",
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "GUNICORN_WORKERS=1" in result.stderr

    single = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=ROOT,
        env={**env, "GUNICORN_WORKERS": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert single.returncode == 0, single.stderr


@pytest.mark.parametrize("path", ["/en/", "/en/specialists/", "/de/clinics/", "/de/conditions/"])
def test_security_headers(client, path):
    response = client.get(path)

    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_production_redirects_to_https_and_sends_hsts(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000

    plain = Client().get("/en/")
    secure = Client().get("/en/", secure=True)

    assert plain.status_code == 301
    assert plain["Location"].startswith("https://")
    assert "max-age=31536000" in secure["Strict-Transport-Security"]
    assert "includeSubDomains" in secure["Strict-Transport-Security"]


def test_behind_a_tls_proxy_the_forwarded_protocol_is_trusted(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    response = Client().get("/en/", headers={"x-forwarded-proto": "https"})

    assert response.status_code == 200


def test_forwarded_headers_from_anyone_but_the_proxy_are_ignored(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    stranger = Client(REMOTE_ADDR="198.51.100.9")

    response = stranger.get("/en/", headers={"x-forwarded-proto": "https"})

    assert response.status_code == 301  # not believed: still plain HTTP


def test_load_balancers_get_healthz_over_http_by_address(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["atlas.example"]

    response = Client().get("/healthz", HTTP_HOST="10.0.0.5:8000")
    head = Client().head("/healthz", HTTP_HOST="10.0.0.5:8000")

    assert response.status_code == 200
    assert response.content == b"ok"
    assert head.status_code == 200
    assert Client().get("/en/", HTTP_HOST="10.0.0.5:8000").status_code == 400  # pages are not


def test_admin_logins_are_throttled_per_user_and_address(client):
    EditorFactory(username="erika", password="right-password-1")
    attacker = Client(REMOTE_ADDR="203.0.113.9")

    statuses = [
        attacker.post(
            "/admin/login/", {"username": "erika", "password": f"wrong-{attempt}"}
        ).status_code
        for attempt in range(5)
    ]
    locked = attacker.post("/admin/login/", {"username": "erika", "password": "right-password-1"})
    elsewhere = Client(REMOTE_ADDR="198.51.100.4").post(
        "/admin/login/", {"username": "erika", "password": "right-password-1"}
    )

    assert statuses[:4] == [200, 200, 200, 200]  # the form again, with its error
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert elsewhere.status_code == 302  # only this address is locked for this user


def test_only_staff_reach_the_admin(client):
    client.force_login(UserFactory(username="patient"))

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_behind_a_proxy_the_rate_limit_counts_per_client_not_per_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    settings.APPOINTMENT_REQUESTS_PER_HOUR = 1

    specialist = AffiliationFactory().specialist
    url = f"/en/specialists/{specialist.slug}/request/"
    data = request_form_data()
    proxy = Client(REMOTE_ADDR="10.0.0.2")

    def send(forwarded_for):
        return proxy.post(url, data, headers={"x-forwarded-for": forwarded_for}).status_code

    assert send("203.0.113.5") == 302
    assert send("198.51.100.7") == 302  # another patient behind the same proxy
    assert send("1.2.3.4, 203.0.113.5") == 429  # a forged first entry does not help
