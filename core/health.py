"""/healthz for load balancers, answered before anything else: they ask over plain HTTP and by
the server's address (a Host that ALLOWED_HOSTS does not list), and must get `ok` or 503, not a
redirect or a 400."""

from core.views import healthz


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz" and request.method in {"GET", "HEAD"}:
            return healthz(request)
        return self.get_response(request)
