"""Behind a reverse proxy or load balancer (BEHIND_TLS_PROXY=1), every request comes from the
proxy's address. Only a peer in TRUSTED_PROXIES may speak for the client: from such a peer the
last X-Forwarded-For entry (the address the proxy saw; earlier entries can be forged by the
client) becomes REMOTE_ADDR, and its X-Forwarded-Proto is believed. From any other peer both
headers are dropped, so nobody who reaches an app server directly can pose as another client or
as HTTPS. The request form's rate limit and the admin's login throttling count per client."""

import ipaddress
from functools import cache

from django.conf import settings


@cache
def _trusted_networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _trusted_networks(tuple(settings.TRUSTED_PROXIES)))


class ForwardedClientMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.SECURE_PROXY_SSL_HEADER:
            meta = request.META
            if is_trusted(meta.get("REMOTE_ADDR", "")):
                client = meta.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
                if client:
                    meta["REMOTE_ADDR"] = client
            else:
                meta.pop("HTTP_X_FORWARDED_FOR", None)
                meta.pop("HTTP_X_FORWARDED_PROTO", None)
        return self.get_response(request)
