"""A NUL character in a query or form parameter is never meant: PostgreSQL cannot store or
compare it, and Django's admin passes filter values to the database as they are. Such requests
get a plain 400 before any view runs. Public forms refuse NUL themselves (Django's form fields
do), so they keep showing their own error messages."""

from django.http import HttpRequest

from core.views import bad_request


class RejectNulCharactersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path_info.startswith("/admin/") and _has_nul(request):
            return bad_request(request)
        return self.get_response(request)


def _has_nul(request: HttpRequest) -> bool:
    sources = [request.GET]
    if request.method == "POST" and request.content_type in {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }:
        sources.append(request.POST)
    return any(
        "\x00" in key or any("\x00" in value for value in values)
        for source in sources
        for key, values in source.lists()
    )
