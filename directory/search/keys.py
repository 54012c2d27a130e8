"""Every cache key of the search, and the generations that retire them (one module, so a key
is built in one place and a change retires what it must in one place).

Cached results carry a generation in their keys; a new one retires them all. Counts (and the
taxonomy) move on when search rows or the taxonomy change; cards and pages move on with any
change to a listing or article, since they show more than the search row holds. Keys are hashed
where they hold what a visitor typed: no key carries a URL or a search word.
"""

import hashlib
import json
import uuid

from django.core.cache import cache
from django.db import transaction

from core.routers import PRIMARY, read_alias

GENERATION_KEY = "search:generation"
CARDS_GENERATION_KEY = "search:cards"
# How long counts and other cached results of a generation are kept at most.
CACHE_SECONDS = 15 * 60
# What was read from a replica is kept only this long: the replica may not yet have a change
# that has already started a new generation.
REPLICA_CACHE_SECONDS = 60


def cache_seconds() -> int:
    """How long to cache what this request read: a generation's lifetime from the primary, a
    minute from a replica."""
    return CACHE_SECONDS if read_alias() == PRIMARY else REPLICA_CACHE_SECONDS


def bump_generation(*, counts: bool = True) -> None:
    """Start new generations now and again when the transaction commits, so no request can
    cache what it read before the commit under the new generation."""

    def bump():
        keys = [CARDS_GENERATION_KEY, *([GENERATION_KEY] if counts else [])]
        cache.set_many({key: uuid.uuid4().hex for key in keys}, None)

    bump()
    transaction.on_commit(bump)


def generation(key: str = GENERATION_KEY) -> str:
    value = cache.get(key)
    if value is None:
        value = uuid.uuid4().hex
        cache.add(key, value, None)
        value = cache.get(key, value)
    return value


def _digest(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def page(language: str, address: str) -> str:
    """A whole page for anonymous visitors (core's page cache), per language and full URL."""
    return f"search:{generation(CARDS_GENERATION_KEY)}:page:{_digest(f'{language}:{address}')}"


def card(language: str, specialist_id: int, distance: str) -> str:
    """A card as a list shows it; `distance` is what it says about distance ("2.3 km from
    Berlin"), hashed into the key."""
    where = _digest(distance)[:16] if distance else ""
    return f"search:{generation(CARDS_GENERATION_KEY)}:{language}:card:{specialist_id}:{where}"


def counts(scope: str, filters: dict) -> str:
    """A list's total and facet counts, for its scope (a condition's page, say) and filters."""
    return f"search:counts:{generation()}:{_digest([scope, filters])}"


def specialties() -> str:
    return f"search:fields:{generation()}"


def conditions() -> str:
    return f"search:conditions:{generation()}"


def analysed_query(text: str) -> str:
    return f"search:{generation()}:words:{_digest(text)}"


def place(text: str) -> str:
    """A place name as typed; the gazetteer changes only with a migration or a load command."""
    return f"search:place:{_digest(text)}"


def clinics_treating(condition_id: int) -> str:
    return f"search:{generation(CARDS_GENERATION_KEY)}:clinics:{condition_id}"


def suggestions(language: str, folded: str) -> str:
    return f"search:{generation()}:suggest:{language}:{_digest(folded)}"
