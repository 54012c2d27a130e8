"""Fill in, as each page is served, what depends on the moment it is served: whether a practice
is open now (directory.hours). Pages are cached with markers in its place, never with a
status."""

from django.utils import timezone

from directory.hours import MARKER_START, fill_markers

_START = MARKER_START.encode()


class OpenStatusMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            not response.streaming
            and response.get("Content-Type", "").startswith("text/html")
            and _START in response.content
        ):
            response.content = fill_markers(response.content, timezone.now())
        return response
