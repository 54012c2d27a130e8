"""Settings for the test suite: the real database, fast hashing, no shared state."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from config.settings import *  # noqa: F403

DEBUG = False
SERVE_MEDIA = False
# A replica alias that mirrors the primary, so the router can be tested; the router itself is
# switched on only by the tests that test it (tests/test_replica.py).
DATABASES = {**DATABASES, "replica": {**DATABASES["default"], "TEST": {"MIRROR": "default"}}}  # noqa: F405
DATABASE_ROUTERS = []
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests see the emails as soon as the request has committed; tests/test_slow_mail.py tests the
# background thread that production uses.
APPOINTMENT_MAIL_IN_BACKGROUND = False
# Stale counts are recomputed in place, after the stale ones were read: a test sees the stale
# result, and the next request the fresh one. tests/test_counts.py tests the thread.
SEARCH_REFRESH_IN_BACKGROUND = False
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
# The operator as a deployment names it (the legal notice, the contact page, the privacy policy),
# whether or not the test run has DEBUG (and the demo operator) in its environment.
OPERATOR_NAME = "Atlas Test Operator GmbH"
OPERATOR_ADDRESS = ["Prüfweg 7", "10115 Berlin", "Germany"]
OPERATOR_EMAIL = "contact@atlas.example"
OPERATOR_PHONE = "+49 30 1234 5678"
OPERATOR_REGISTER = "Amtsgericht Charlottenburg, HRB 000000 B"
PRIVACY_EMAIL = "privacy@atlas.example"

# Uploads and renditions the tests write (demo pictures included) go to a directory of their own.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="atlas-test-media-"))
atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)
# The FHIR bulk export too (tests that export set a directory of their own).
FHIR_EXPORT_ROOT = Path(tempfile.mkdtemp(prefix="atlas-test-fhir-export-"))
atexit.register(shutil.rmtree, FHIR_EXPORT_ROOT, ignore_errors=True)
