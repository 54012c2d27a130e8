"""Site-wide views: health check, robots.txt and the error pages."""

import sys
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.static import serve

DATABASE_OUTAGE_ERRORS = (OperationalError, InterfaceError)


# /healthz waits this long for the database; a load balancer needs an answer, not a hang.
HEALTH_CHECK_SECONDS = 1.5
_health_checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="healthz")


def _database_answers() -> bool:
    """A fresh connection (not the worker's, which may be stuck in a query) and one query."""
    settings = connection.settings_dict
    try:
        with psycopg.connect(
            dbname=settings["NAME"],
            user=settings.get("USER") or None,
            password=settings.get("PASSWORD") or None,
            host=settings.get("HOST") or None,
            port=str(settings.get("PORT") or "") or None,
            connect_timeout=2,
            options="-c statement_timeout=1500",
        ) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """`ok` when the database answers a query, 503 when it does not, or not within
    HEALTH_CHECK_SECONDS (a frozen server accepts connections and never answers)."""
    try:
        answers = _health_checks.submit(_database_answers).result(timeout=HEALTH_CHECK_SECONDS)
    except FutureTimeout:
        answers = False
    if not answers:
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


@require_safe
def robots_txt(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        loader.render_to_string("robots.txt", request=request), content_type="text/plain"
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page, or the friendly 503 page when the error is a database outage.

    Django calls this while the exception is being handled, so sys.exc_info() names it. The
    templates are rendered without request context processors: nothing here may query the
    database, which may be the very thing that failed.
    """
    _, error, _ = sys.exc_info()
    if isinstance(error, DATABASE_OUTAGE_ERRORS):
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = "30"
        return response
    return HttpResponse(loader.render_to_string("500.html"), status=500)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    """The 400 page, rendered without the request's context: the request may be the problem
    (a Host header we do not serve, characters we cannot read)."""
    return HttpResponseBadRequest(loader.render_to_string("400.html"))


@require_safe
def media(request: HttpRequest, path: str) -> HttpResponse:
    """Uploaded photos and logos under `make run` and `make audit` (SERVE_MEDIA, on with DEBUG).
    In production the web server or the bucket serves MEDIA_URL (docs/deploy.md); here they
    are 404."""
    if not settings.SERVE_MEDIA:
        raise Http404
    try:
        return serve(request, path, document_root=settings.MEDIA_ROOT)
    except (OSError, ValueError) as error:  # a name too long for the file system, a NUL byte
        raise Http404 from error
