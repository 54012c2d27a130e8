"""Settings for the specialist directory, read once from the environment.

Every variable is optional for `make run`; the README lists them all. A malformed value stops
start-up with a message naming the variable (see config/env.py).
"""

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.database import database_settings, replica_settings
from config.env import env_bool, env_int, env_lines, env_list, env_str, web_workers

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-while-DEBUG-is-on"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])

# The site's address for links in emails, which are sent outside any request (commands, timers).
SITE_URL = env_str(
    "SITE_URL",
    "http://127.0.0.1:8000" if DEBUG or not ALLOWED_HOSTS else f"https://{ALLOWED_HOSTS[0]}",
).rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("SITE_URL must start with http:// or https://.")

INSTALLED_APPS = [
    "modeltranslation",  # before admin, so the admin shows the language columns
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.postgres",
    "django.contrib.sitemaps",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_filters",
    "reversion",
    "axes",
    "core",
    "directory",
    "appointments",
    "content",
    "fhirapi",
]

MIDDLEWARE = [
    "core.head.HeadWithoutBodyMiddleware",  # outermost: sees every response, /healthz's too
    "core.health.HealthCheckMiddleware",  # /healthz, before host checks and redirects
    "core.proxy.ForwardedClientMiddleware",  # only with BEHIND_TLS_PROXY
    "core.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "core.routers.ReplicaMiddleware",  # public page views may read from a replica
    "django.middleware.common.CommonMiddleware",
    "directory.middleware.OpenStatusMiddleware",  # inside the language; fills cached pages too
    "core.request_guard.RejectNulCharactersMiddleware",  # admin filters pass values on as is
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.site",
            ],
        },
    },
]

DATABASES = {"default": database_settings()}
# A read replica (DATABASE_REPLICA_URL): public page views read from it (core/routers.py).
DATABASE_ROUTERS = []
if replica := replica_settings():
    DATABASES["replica"] = replica
    DATABASE_ROUTERS = ["core.routers.PrimaryReplicaRouter"]
# Seconds any SQL statement of a web request may run (core/statement_timeout.py); 0: no limit.
DATABASE_STATEMENT_TIMEOUT = env_int("DATABASE_STATEMENT_TIMEOUT", 10, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6 default; silences the transition warning

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Languages: every public page lives under /en/, /de/, /fr/ or /it/.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German")), ("fr", _("French")), ("it", _("Italian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
# A text missing in the page's language is shown in English (else German), with a note.
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en", "de")
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Uploads (photos, logos and their renditions): the local MEDIA_ROOT, or an S3-compatible bucket
# (django-storages) when MEDIA_S3_BUCKET is set; credentials come from the usual AWS_*
# variables or the instance's role. Public pages then link to MEDIA_URL on the bucket or CDN.
# Django itself answers /media/ from MEDIA_ROOT: for `make run` (on with DEBUG) and `make audit`;
# in production nginx or the bucket serves uploads and this stays off.
SERVE_MEDIA = env_bool("SERVE_MEDIA", default=DEBUG)
MEDIA_S3_BUCKET = env_str("MEDIA_S3_BUCKET")
MEDIA_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if MEDIA_S3_BUCKET:
    MEDIA_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            "endpoint_url": env_str("MEDIA_S3_ENDPOINT_URL") or None,
            "region_name": env_str("MEDIA_S3_REGION") or None,
            "custom_domain": env_str("MEDIA_S3_CUSTOM_DOMAIN") or None,
            "querystring_auth": False,  # public renditions; originals are never linked
            "file_overwrite": True,  # renditions are rewritten in place
        },
    }
# Where uploaded images are served from, for the Content-Security-Policy's img-src.
MEDIA_IMAGE_SOURCES = []
if MEDIA_S3_BUCKET:
    _media_host = (
        env_str("MEDIA_S3_CUSTOM_DOMAIN")
        or urlsplit(env_str("MEDIA_S3_ENDPOINT_URL", "https://s3.amazonaws.com")).netloc
    )
    MEDIA_IMAGE_SOURCES = [f"https://{_media_host}", f"https://*.{_media_host}"]
STORAGES = {
    "default": MEDIA_STORAGE,
    "staticfiles": {
        # Hashed names, long-cached by whitenoise, our own CSS and JS minified; plain files
        # while developing.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "core.staticfiles.MinifiedManifestStaticFilesStorage"
    },
}

# Whitenoise serves STATIC_ROOT (after collectstatic) in production, app folders in development.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# How many processes serve the site (gunicorn's workers): with more than one the cache must be
# shared, or the web server refuses to start (core/checks.py).
WEB_WORKERS = web_workers()
# One process's own cache (make run, a single worker): room for the cards, rows and counts of
# many lists (Django's default of 300 entries is a few pages' worth and would evict the counts).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    }
}
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://.")
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }

# Email: printed to the console while DEBUG is on and no EMAIL_HOST is set; otherwise SMTP.
# Mail to practices carries health data, so production never prints it: without EMAIL_HOST it
# goes to an SMTP server on this host, and if none answers, requests wait for a retry.
EMAIL_HOST = env_str("EMAIL_HOST", "" if DEBUG else "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
# Seconds before giving up on a mail server that does not answer; the request is retried later.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
# The request form's emails go from a thread of their own after the request is stored, so the
# patient sees the thank-you page at once however slow the mail server is.
APPOINTMENT_MAIL_IN_BACKGROUND = env_bool("APPOINTMENT_MAIL_IN_BACKGROUND", default=True)
# After a change to the listings, a list's counts (and other results computed over every row)
# are computed again in a thread of their own while visitors get the last ones
# (directory.search.keys.fresh_or_stale); off, the visitor who finds them stale waits for it.
SEARCH_REFRESH_IN_BACKGROUND = env_bool("SEARCH_REFRESH_IN_BACKGROUND", default=True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Appointment requests are health data: kept this many days, then purged.
APPOINTMENT_RETENTION_DAYS = env_int("APPOINTMENT_RETENTION_DAYS", 180, minimum=1)
# A fact a filter uses (hours, accessibility, languages ...) stops counting when not confirmed
# for this long.
FACT_MAX_AGE_DAYS = env_int("FACT_MAX_AGE_DAYS", 365, minimum=1)
# Where a request goes when its listing has no email address of its own.
APPOINTMENT_INBOX_EMAIL = env_str("APPOINTMENT_INBOX_EMAIL", "appointments@localhost")
# How long the link that confirms a practice's address for appointment requests works.
RECIPIENT_CONFIRMATION_DAYS = env_int("RECIPIENT_CONFIRMATION_DAYS", 7, minimum=1)
# How long a link to a request works: the practice's link to read and answer it, the patient's
# to follow it (each email of the conversation carries a new one).
APPOINTMENT_LINK_DAYS = env_int("APPOINTMENT_LINK_DAYS", 14, minimum=1)
# Weekly times entered on this site (directory/slots/weekly.py) become slots this many weeks
# ahead (`manage.py generate_slots`, daily, and on every save of the times).
SLOT_WEEKS_AHEAD = env_int("SLOT_WEEKS_AHEAD", 8, minimum=1)
# A booking holds its slot this many minutes while the link emailed to the patient waits to be
# used; then the slot is free again.
BOOKING_HOLD_MINUTES = env_int("BOOKING_HOLD_MINUTES", 10, minimum=1)
# Submissions of the request form per client (IP address) and hour; more get 429.
APPOINTMENT_REQUESTS_PER_HOUR = env_int("APPOINTMENT_REQUESTS_PER_HOUR", 10, minimum=1)
# Requests to the FHIR API (/fhir/) per client (IP address) and minute; more get 429 with
# Retry-After (fhirapi/throttle.py). 0: no limit.
FHIR_REQUESTS_PER_MINUTE = env_int("FHIR_REQUESTS_PER_MINUTE", 120, minimum=0)
# Where `manage.py export_fhir` (nightly) writes the FHIR bulk export, one NDJSON file per
# resource type and a manifest, which /fhir/$export serves (fhirapi/export.py).
FHIR_EXPORT_ROOT = Path(env_str("FHIR_EXPORT_ROOT", str(BASE_DIR / "var" / "fhir-export")))
# Reports of a wrong fact ("Something wrong?") per client (IP address) and hour; more get 429.
FACT_REPORTS_PER_HOUR = env_int("FACT_REPORTS_PER_HOUR", 10, minimum=1)
# Those reports (what was written, the optional email) are deleted this many days after they
# arrive (`manage.py refresh_facts`, daily).
FACT_REPORT_RETENTION_DAYS = env_int("FACT_REPORT_RETENTION_DAYS", 180, minimum=1)

# Who runs the site, for the legal notice, the contact page and the privacy policy (content app:
# the pages show these facts, and their texts may name them with placeholders). The address is
# one line per "|". While DEBUG is on, a made-up demo operator; in production they are empty
# until set, and `manage.py check --deploy` fails without name, address and email (core/checks).
OPERATOR_NAME = env_str("OPERATOR_NAME", "Specialist Atlas (demo operator)" if DEBUG else "")
OPERATOR_ADDRESS = env_lines(
    "OPERATOR_ADDRESS", ["Musterstraße 1", "12345 Musterstadt", "Germany"] if DEBUG else []
)
OPERATOR_EMAIL = env_str("OPERATOR_EMAIL", "contact@localhost" if DEBUG else "")
OPERATOR_PHONE = env_str("OPERATOR_PHONE")
# Commercial register, VAT number and the like: one line, shown as it is.
OPERATOR_REGISTER = env_str("OPERATOR_REGISTER")
# Where patients ask for access to or deletion of their data.
PRIVACY_EMAIL = env_str("PRIVACY_EMAIL", OPERATOR_EMAIL)

# Security. Production (DEBUG off) assumes HTTPS: cookies are secure, plain
# HTTP is redirected and browsers are told to keep to HTTPS (HSTS). Behind a proxy or load
# balancer that ends TLS, set BEHIND_TLS_PROXY=1 so Django trusts its X-Forwarded-Proto header
# (the proxy must set it and strip what clients send) and takes the client's address from the
# last X-Forwarded-For entry (core/proxy.py). `make bench` and `make audit` serve plain
# HTTP on localhost and turn the redirect off with SECURE_SSL_REDIRECT=0.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_PROXY_SSL_HEADER = None
if env_bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The proxies whose X-Forwarded-* headers are believed (addresses or networks).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", ["127.0.0.1", "::1"])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as _error:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_error}") from None
# Load balancers ask for /healthz over plain HTTP, by address (core/health.py answers first).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Content-Security-Policy (django-csp): nothing inline, nothing from another host. The JSON-LD
# blocks are data, not scripts, and need no exception.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *MEDIA_IMAGE_SOURCES],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# Admin logins (django-axes): after 5 failures for one user name from one address, that pair is
# locked out for an hour; a success resets the count.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_USERNAME_CALLABLE = "core.logins.axes_username"  # no NUL, no overlong names stored
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Logs go to standard output: in production one JSON object per line (python-json-logger),
# including one line per request (core/request_log.py); plain text while DEBUG is on. Every
# line passes the WithoutPersonalData filter: no query string, no request object. Django's own
# loggers write through the same handler: its default handlers are replaced, and no error is
# mailed to ADMINS (such a report would carry the request).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"without_personal_data": {"()": "core.request_log.WithoutPersonalData"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain" if DEBUG else "json",
            "filters": ["without_personal_data"],
        }
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "directory.requests": {
            "handlers": ["console"],
            "level": "WARNING" if DEBUG else "INFO",  # runserver logs requests itself
            "propagate": False,
        },
    },
}
