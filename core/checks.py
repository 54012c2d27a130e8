"""Deployment checks of our own, run by `manage.py check --deploy`."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


def unshared_cache_problem() -> str:
    """Why this process may not serve the site, or "". Cached pages are retired by a generation
    kept in the cache: with a cache per process, a page an editor unpublished stays public on the
    other workers until it expires."""
    if settings.CACHES["default"]["BACKEND"] in LOCAL_CACHES and settings.WEB_WORKERS > 1:
        return (
            f"The cache is local to each process, but {settings.WEB_WORKERS} processes serve the "
            "site: a change would reach only the one that made it, and the others would serve "
            "old pages, unpublished ones included. Set REDIS_URL, or run one process "
            "(GUNICORN_WORKERS=1 or WEB_CONCURRENCY=1)."
        )
    return ""


@checks.register(checks.Tags.caches, deploy=True)
def shared_cache(app_configs=None, **kwargs):
    if problem := unshared_cache_problem():
        return [checks.Error(problem, hint="See docs/deploy.md.", id="atlas.E001")]
    return []


def refuse_unshared_cache() -> None:
    """Called as the web server starts (config/wsgi.py): production never runs several workers
    on a per-process cache. Development (DEBUG) runs one runserver process anyway."""
    if not settings.DEBUG and (problem := unshared_cache_problem()):
        raise ImproperlyConfigured(problem)


# The legal notice, the contact page and the privacy policy show these: a site in Germany,
# Austria or Switzerland must name who runs it and how to reach them.
OPERATOR_SETTINGS = ("OPERATOR_NAME", "OPERATOR_ADDRESS", "OPERATOR_EMAIL")


@checks.register(deploy=True)
def operator_named(app_configs=None, **kwargs):
    missing = [name for name in OPERATOR_SETTINGS if not getattr(settings, name)]
    if missing:
        return [
            checks.Error(
                f"{', '.join(missing)} not set: the legal notice, the contact page and the "
                "privacy policy would not say who runs the site.",
                hint="Set them in the environment (README, Configuration).",
                id="atlas.E002",
            )
        ]
    return []
