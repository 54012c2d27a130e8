"""Behind a reverse proxy or load balancer (BEHIND_TLS_PROXY=1), every request comes from the
proxy's address. The proxy appends the client's address to X-Forwarded-For; the last entry is
the one it saw, so that is the client (earlier entries can be forged by the client). The rate
limit of the request form and the admin login throttling then count per client again."""

from django.conf import settings


class ForwardedClientMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.SECURE_PROXY_SSL_HEADER:
            forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
            client = forwarded.rsplit(",", 1)[-1].strip()
            if client:
                request.META["REMOTE_ADDR"] = client
        return self.get_response(request)
