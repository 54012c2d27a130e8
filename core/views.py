"""Site-wide views: health check, robots.txt and the error pages."""

import sys

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

DATABASE_OUTAGE_ERRORS = (OperationalError, InterfaceError)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """`ok` when the database answers a query, 503 when it does not. Runs one query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


@require_GET
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
