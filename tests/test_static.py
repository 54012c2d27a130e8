"""Static files in production: hashed names, served by whitenoise with a
year-long, immutable cache, compressed; in development plain names, no caching surprises."""

import importlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

PRODUCTION_STORAGE = "core.staticfiles.MinifiedManifestStaticFilesStorage"


def test_production_settings_hash_static_files(monkeypatch):
    import config.settings

    monkeypatch.setenv("DEBUG", "0")
    try:
        production = importlib.reload(config.settings)
        assert production.STORAGES["staticfiles"]["BACKEND"] == PRODUCTION_STORAGE
        assert production.WHITENOISE_USE_FINDERS is False
    finally:
        monkeypatch.undo()
        importlib.reload(config.settings)


def test_hashed_static_files_are_cached_for_a_year_and_compressed(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": PRODUCTION_STORAGE}}
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    call_command("collectstatic", "--noinput", verbosity=0)
    client = Client()  # a new handler: whitenoise reads the collected files now

    page = client.get("/en/").content.decode()
    stylesheet = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, "the stylesheet's name carries its hash"
    response = client.get(stylesheet.group(1), headers={"accept-encoding": "gzip"})

    assert response.status_code == 200
    assert "immutable" in response["Cache-Control"]
    assert "max-age=315360000" in response["Cache-Control"]
    assert response["Content-Encoding"] == "gzip"


def test_our_stylesheet_and_scripts_are_collected_minified_and_still_parse(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": PRODUCTION_STORAGE}}
    call_command("collectstatic", "--noinput", verbosity=0)
    source = Path(settings.BASE_DIR) / "static"

    stylesheet = (tmp_path / "css" / "site.css").read_text()
    assert "/*" not in stylesheet
    assert "\n" not in stylesheet.strip()
    assert len(stylesheet) < 0.8 * len((source / "css" / "site.css").read_text())
    assert ".card__picture{" in stylesheet
    node = shutil.which("node")
    assert node, "node is installed with npm (make install-checks)"
    for script in sorted((source / "js").glob("*.js")):
        collected = tmp_path / "js" / script.name
        assert len(collected.read_text()) < len(script.read_text())
        # The minified script is still JavaScript that parses.
        subprocess.run([node, "--check", str(collected)], check=True, capture_output=True)  # noqa: S603
    # The hashed copies, which the pages link, are the minified ones, and named by them.
    import gzip
    import hashlib
    import json

    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    for name in ["css/site.css", *(f"js/{script.name}" for script in (source / "js").glob("*.js"))]:
        hashed = tmp_path / manifest[name]
        minified = (tmp_path / name).read_bytes()
        assert hashed.read_bytes() == minified, name
        assert hashlib.md5(minified).hexdigest()[:12] in hashed.name  # noqa: S324 - a file name
        assert gzip.decompress((tmp_path / f"{manifest[name]}.gz").read_bytes()) == minified
    # Django's admin files are collected as they ship.
    admin_css = tmp_path / "admin" / "css" / "base.css"
    assert "/*" in admin_css.read_text()


def test_media_go_to_an_s3_bucket_when_one_is_configured(monkeypatch):
    import config.settings

    monkeypatch.setenv("MEDIA_S3_BUCKET", "atlas-media")
    monkeypatch.setenv("MEDIA_S3_ENDPOINT_URL", "https://s3.example.net")
    try:
        storage = importlib.reload(config.settings).STORAGES["default"]
    finally:
        monkeypatch.undo()
        default = importlib.reload(config.settings).STORAGES["default"]

    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"]["bucket_name"] == "atlas-media"
    assert storage["OPTIONS"]["endpoint_url"] == "https://s3.example.net"
    assert default["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_with_a_bucket_the_policy_allows_its_images(monkeypatch):
    import config.settings

    monkeypatch.setenv("MEDIA_S3_BUCKET", "atlas-media")
    monkeypatch.setenv("MEDIA_S3_CUSTOM_DOMAIN", "media.atlas.example")
    try:
        policy = importlib.reload(config.settings).CONTENT_SECURITY_POLICY
    finally:
        monkeypatch.undo()
        default = importlib.reload(config.settings).CONTENT_SECURITY_POLICY

    assert "https://media.atlas.example" in policy["DIRECTIVES"]["img-src"]
    assert default["DIRECTIVES"]["img-src"] == ["'self'", "data:"]
