"""Deployment checks of our own, run by `manage.py check --deploy`."""

from django.conf import settings
from django.core import checks

LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@checks.register(checks.Tags.caches, deploy=True)
def shared_cache(app_configs=None, **kwargs):
    """Cached pages are retired by a generation kept in the cache, and the request form counts
    its rate limit there: with a cache per process, gunicorn's workers would serve pages an
    editor has changed, and each would count on its own."""
    if settings.CACHES["default"]["BACKEND"] in LOCAL_CACHES:
        return [
            checks.Warning(
                "The cache is local to each process: with several gunicorn workers, a change "
                "reaches only the worker that made it, and the others serve old pages.",
                hint="Set REDIS_URL (see docs/deploy.md).",
                id="atlas.W001",
            )
        ]
    return []
