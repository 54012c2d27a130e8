"""Limits per client that no visitor can reset: counted in PostgreSQL (core.models.
RateLimitCount), in fixed windows, shared by every worker and host.

A client is its address: IPv6 by its /64 network (one household or device holds many addresses
in it), an IPv4 address seen on a dual-stack socket as itself. Addresses are hashed with the
secret key before they are stored, so no address is kept.
"""

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connections

from core.models import RateLimitCount

PRIMARY = "default"  # counts are writes: never on a replica


def client_network(request) -> str:
    """The network that stands for the client: its IPv4 address, or its IPv6 /64."""
    address = request.META.get("REMOTE_ADDR") or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    # A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d: limit the IPv4 address.
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return str(ipaddress.ip_network(f"{ip}/{64 if ip.version == 6 else 32}", strict=False))


def client_key(scope: str, request) -> str:
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{client_network(request)}".encode())
    return f"{scope}:{digest.hexdigest()[:40]}"


@dataclass(frozen=True)
class Verdict:
    count: int
    limit: int
    retry_after: int  # seconds until the window ends

    @property
    def over(self) -> bool:
        return self.count > self.limit


def hit(scope: str, request, *, limit: int, window: int, now: datetime | None = None) -> Verdict:
    """Count one more for this client in the current window of `window` seconds and say whether
    it is over the limit. One statement, atomic under concurrency."""
    now = now or datetime.now(UTC)
    start_seconds = math.floor(now.timestamp() / window) * window
    start = datetime.fromtimestamp(start_seconds, UTC)
    table = RateLimitCount._meta.db_table
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, window_start, count) VALUES (%s, %s, 1) "  # noqa: S608 - our table's name
            f"ON CONFLICT (key, window_start) DO UPDATE SET count = {table}.count + 1 "
            "RETURNING count",
            [client_key(scope, request), start],
        )
        (count,) = cursor.fetchone()
    retry_after = max(1, math.ceil(start_seconds + window - now.timestamp()))
    return Verdict(count=count, limit=limit, retry_after=retry_after)


def forget_passed_windows(longest_window: int = 24 * 60 * 60, now=None) -> int:
    """Delete the counts of windows that ended long ago; returns how many rows."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=2 * longest_window)
    deleted, _by_model = (
        RateLimitCount.objects.using(PRIMARY).filter(window_start__lt=cutoff).delete()
    )
    return deleted
