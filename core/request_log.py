"""One log line per request (JSON in production): method, path, status, duration and the view.

No personal data: no query string (a search can name an illness), no address, no user, no
cookie, and no path as it was typed: a path can carry what somebody typed (a slug that does not
exist, a signed link's token), so lines name the URL pattern that matched instead
("/en/specialists/<slug:slug>/"), here and in Django's own lines ("Not Found: ...").
"""

import logging
import re
import time

logger = logging.getLogger("directory.requests")

NO_ROUTE = "(no page)"


def route_of(request) -> str:
    """The URL pattern the request matched, as a path ("/en/specialists/<slug:slug>/")."""
    match = getattr(request, "resolver_match", None)
    return f"/{match.route}" if match and match.route else NO_ROUTE


# A query string after a path: "/en/specialists/?q=..." up to the next space or quote.
QUERY_STRING = re.compile(r"""(/[^\s?"'<>]*)\?[^\s"'<>]*""")


def without_query(text: str) -> str:
    """The text with the query string of every path in it removed."""
    return QUERY_STRING.sub(r"\1", text)


class WithoutPersonalData(logging.Filter):
    """A filter for every handler: no log line carries a query string (a search can name an
    illness) or the request object Django attaches to its own records, whatever the logger.

    Django's `django.request` logger attaches the request, which a JSON formatter writes out
    with its full URL; the development server logs the request line with the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if request is not None and not isinstance(request, str):
            path, route = getattr(request, "path", None), route_of(request)
            record.request = f"{getattr(request, 'method', '')} {route}".strip()
            if isinstance(record.args, tuple) and path is not None:
                # Django's "Not Found: <path>", "Bad Request: <path>" ...: the pattern instead.
                record.args = tuple(route if arg == path else arg for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = without_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                without_query(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                key: without_query(value) if isinstance(value, str) else value
                for key, value in record.args.items()
            }
        return True


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        logger.info(
            "request",
            extra={
                "method": request.method,
                "route": route_of(request),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "view": match.view_name if match else "",
            },
        )
        return response
