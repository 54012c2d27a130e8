"""The API's rate limit: FHIR_REQUESTS_PER_MINUTE per client, counted by the project's limiter
(core.rate_limits: in PostgreSQL, per IPv4 address or IPv6 /64, in fixed one-minute windows,
shared by every worker and host). Every GET and HEAD counts, answered from the cache or not (a
count is one statement); CORS preflights and refused methods do not.

Nothing here answers: fhirapi.http turns a refusal into a 429 OperationOutcome with Retry-After.
"""

from django.conf import settings

from core import rate_limits

SCOPE = "fhir"
WINDOW = 60  # seconds


def retry_after(request) -> int | None:
    """Count the request; the seconds until the client may ask again when it is over the
    limit, else None."""
    limit = settings.FHIR_REQUESTS_PER_MINUTE
    if not limit:
        return None
    verdict = rate_limits.hit(SCOPE, request, limit=limit, window=WINDOW)
    return verdict.retry_after if verdict.over else None
