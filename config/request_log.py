"""One log line per request (JSON in production): method, path, status, duration and the view.

No personal data: no query string (a search can name an illness), no address, no user, no
cookie. Appointment requests appear only as a POST to their path, never with their content.
"""

import logging
import time

logger = logging.getLogger("directory.requests")


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
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "view": match.view_name if match else "",
            },
        )
        return response
