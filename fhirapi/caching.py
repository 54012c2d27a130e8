"""The API's own cache: a read or search answer is kept briefly in Django's cache, keyed by the
full query and the directory's current generation (directory.search.keys: any change to a
listing, a clinic, a location, a medical field or condition starts a new one), so a change
retires every answer at once. Only what the view made without error is kept (never an
OperationOutcome), and only the resource itself: fhirapi.http makes the ETag, Last-Modified and
304 from it as for a fresh answer, so conditional requests behave the same.

A cached answer costs no query of its own (the generation is in the cache too); the rate
limit's count is the one query of such a request.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from django.core.cache import cache

from directory.search import keys
from fhirapi.http import base_url
from fhirapi.search import lenient

# At most this long, and never past the generation: the same as the Cache-Control max-age any
# client or proxy may keep the answer for. Read from a replica: keys.cache_seconds() (a minute).
CACHE_SECONDS = 60

Answer = tuple[dict, datetime | None]  # the resource and when it last changed (reads)


def key(request) -> str:
    """The request's answer in this generation: its path, every parameter and value (sorted by
    name, values in the order given: the order of _include matters), the service base and
    whether unknown parameters are ignored."""
    query = sorted((name, request.GET.getlist(name)) for name in request.GET)
    what = json.dumps([base_url(), request.path, query, lenient(request)])
    digest = hashlib.sha256(what.encode()).hexdigest()
    return f"fhir:{keys.generation(keys.CARDS_GENERATION_KEY)}:{digest}"


def cached(request, compute: Callable[[], Answer]) -> Answer:
    """The answer from the cache, or computed and kept (a FhirError from `compute` passes
    through and nothing is kept)."""
    name = key(request)
    found = cache.get(name)
    if found is not None:
        return found
    answer = compute()
    cache.set(name, answer, min(CACHE_SECONDS, keys.cache_seconds()))
    return answer
