"""Every cache key of the search, and the generations that retire them (one module, so a key
is built in one place and a change retires what it must in one place).

Cached results belong to a generation; a new one retires them. Three generations move on at
different times: the taxonomy's (a field, condition or synonym changed: the vocabulary), the
index's (search rows changed: counts, suggestions, the reading of a query) and the cards' (any
change to a listing or article: page rows, cards and whole pages, which show more than the
search row). Keys are hashed where they hold what a visitor typed: no key carries a URL or a
search word.

Most results carry their generation in the key and are computed again after a change: all that
names listings (rows, cards, suggestions, the clinics of a condition), so none is ever shown
after it was unpublished. What is expensive to compute over every row and names no listing (a
list's counts, the reading of a query) is kept under a key without it, with the generation and
the time it was computed beside it (`fresh_or_stale`): after a change, visitors get the last
result at once, marked stale, while one recomputation per key runs outside their requests.
"""

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction
from django.utils import translation

from core.routers import PRIMARY, read_alias

logger = logging.getLogger(__name__)

TAXONOMY_GENERATION_KEY = "search:taxonomy"
GENERATION_KEY = "search:generation"
CARDS_GENERATION_KEY = "search:cards"
# How long counts and other cached results of a generation are kept at most.
CACHE_SECONDS = 15 * 60
# What was read from a replica is kept only this long: the replica may not yet have a change
# that has already started a new generation.
REPLICA_CACHE_SECONDS = 60
# A stale result is recomputed at most once in this many seconds per key, however often the
# listings change: under a stream of edits the counts of a popular list are at most this much
# (plus the time to count) behind, and the database counts each list at most this often.
REFRESH_INTERVAL = 60
# Recomputations running at once across all app servers (slots in the shared cache), so that
# counting never takes more than one core of the database from the visitors; a list that finds
# no free slot is counted for a later visitor.
MAX_REFRESHES = 1
# A slot is given back when its recomputation ends, or after this long if its process died.
SLOT_SECONDS = 120
# A page made with stale counts is kept this long only, so visitors soon get the new counts.
STALE_PAGE_SECONDS = 5


def cache_seconds() -> int:
    """How long to cache what this request read: a generation's lifetime from the primary, a
    minute from a replica."""
    return CACHE_SECONDS if read_alias() == PRIMARY else REPLICA_CACHE_SECONDS


def bump_generation(*, counts: bool = True, taxonomy: bool = False) -> None:
    """Start new generations now and again when the transaction commits, so no request can
    cache what it read before the commit under the new generation. The cards' always; the
    index's when search rows changed (`counts`); the taxonomy's when it changed (`taxonomy`)."""

    def bump():
        keys = [
            CARDS_GENERATION_KEY,
            *([GENERATION_KEY] if counts or taxonomy else []),
            *([TAXONOMY_GENERATION_KEY] if taxonomy else []),
        ]
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


@dataclass(frozen=True)
class Result:
    """A cached result: its value, whether it is of the current generation, and when (Unix
    time) it was computed."""

    value: Any
    fresh: bool
    computed: float

    @property
    def version(self) -> str:
        """Names this result among those of its key (for caches of what is made from it)."""
        return f"{self.computed:.3f}"


def fresh_or_stale(
    key: str, compute: Callable[[], Any], generation_key: str = GENERATION_KEY
) -> Result:
    """The result under `key`: of the current generation if there is one; else the last one
    computed (within its cache lifetime), marked stale, with a recomputation started outside
    the request (`_refresh`); else computed now. No request waits for another's."""
    current = generation(generation_key)
    entry = cache.get(key)
    if entry is not None:
        entry_generation, computed, value = entry
        if entry_generation == current:
            return Result(value, True, computed)
        served_stale.set(True)
        _refresh(key, compute, generation_key)
        return Result(value, False, computed)
    started = time.time()
    value = compute()
    cache.set(key, (current, started, value), cache_seconds())
    return Result(value, True, started)


_running: set[threading.Thread] = set()
# Whether this request was given a stale result (for the page cache: directory.views).
served_stale: ContextVar[bool] = ContextVar("served_stale", default=False)


def _take_slot() -> tuple[str, str] | None:
    """One of the MAX_REFRESHES recomputation slots (its key and this holder's token), or None
    when all are taken."""
    token = uuid.uuid4().hex
    for number in range(MAX_REFRESHES):
        slot = f"search:refresh-slot:{number}"
        if cache.add(slot, token, SLOT_SECONDS):
            return slot, token
    return None


def _give_back(slot: tuple[str, str]) -> None:
    """Free the slot, unless it ran out meanwhile and another holder has it now."""
    key, token = slot
    if cache.get(key) == token:
        cache.delete(key)


def _refresh(key: str, compute: Callable[[], Any], generation_key: str) -> None:
    """Compute a stale result again, at most once per REFRESH_INTERVAL per key and
    MAX_REFRESHES at a time, across all processes and app servers (locks in the shared cache):
    in a thread of its own, in the language of the request (SEARCH_REFRESH_IN_BACKGROUND; the
    tests do it in place)."""
    lock = f"{key}:refresh"
    if not cache.add(lock, 1, REFRESH_INTERVAL):
        return
    slot = _take_slot()
    if slot is None:
        cache.delete(lock)  # a later visitor starts it
        return
    language = translation.get_language()
    background = settings.SEARCH_REFRESH_IN_BACKGROUND

    def run() -> None:
        try:
            if background:
                # One core for the count, the others for the visitors: no parallel workers on
                # this thread's own connection (closed when it ends).
                with connections[PRIMARY].cursor() as cursor:
                    cursor.execute("SET max_parallel_workers_per_gather = 0")
            with translation.override(language):
                current = generation(generation_key)
                started = time.time()
                value = compute()
                cache.set(key, (current, started, value), cache_seconds())
        except Exception as error:  # the stale result stays; the next interval tries again
            logger.warning("Search cache refresh failed (%s).", type(error).__name__)
        finally:
            _give_back(slot)
            if background:
                connections.close_all()  # this thread's own database connections
                _running.discard(threading.current_thread())

    if not background:
        run()
        return
    thread = threading.Thread(target=run, name="search-refresh", daemon=True)
    _running.add(thread)
    thread.start()


def wait_for_refreshes(timeout: float = 60) -> None:
    """Wait until the recomputations started in this process have ended (the benchmark)."""
    deadline = time.monotonic() + timeout
    for thread in list(_running):
        thread.join(max(0, deadline - time.monotonic()))


def _digest(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def page(language: str, address: str) -> str:
    """A whole page for anonymous visitors (core's page cache), per language and full URL."""
    return f"search:{generation(CARDS_GENERATION_KEY)}:page:{_digest(f'{language}:{address}')}"


def card(language: str, taxonomy: str, specialist_id: int, written, distance: str) -> str:
    """A card as a list shows it: of the specialist's search row as `written` (every change to
    what the card shows rewrites the row, so a change to one listing renders only its card
    again), in the taxonomy's generation `taxonomy` (the fields' names); `distance` is what it
    says about distance ("2.3 km from Berlin"), hashed into the key."""
    where = _digest(distance)[:16] if distance else ""
    version = f"{written.timestamp():.6f}" if written else ""
    return f"search:card:{taxonomy}:{language}:{specialist_id}:{version}:{where}"


def counts(scope: str, filters: dict) -> str:
    """A list's total and facet counts, for its scope (a condition's page, say) and filters
    (fresh_or_stale: without the generation)."""
    return f"search:counts:{_digest([scope, filters])}"


def bounded_total(counts_key: str) -> str:
    """A list's total counted up to EXACT_UP_TO + 1 while its counts are stale, in the index's
    generation."""
    return f"search:few:{generation()}:{_digest(counts_key)}"


def page_rows(scope: str, parameters: dict) -> str:
    """The rows of a page of a list (its scope and every parameter, the page and the sort
    included), in the index's and the cards' generations: any change to a listing retires
    them, also one the search does not see (a new headline rewrites the row, and the row's
    `written` names its card)."""
    rows_of = f"{generation()}:{generation(CARDS_GENERATION_KEY)}"
    return f"search:rows:{rows_of}:{_digest([scope, parameters])}"


def specialties() -> str:
    return f"search:fields:{generation(TAXONOMY_GENERATION_KEY)}"


def conditions() -> str:
    return f"search:conditions:{generation(TAXONOMY_GENERATION_KEY)}"


def analysed_query(text: str) -> str:
    """The reading of a query (fresh_or_stale: it also depends on the names in the index)."""
    return f"search:words:{_digest(text)}"


def place(text: str) -> str:
    """A place name as typed; the gazetteer changes only with a migration or a load command."""
    return f"search:place:{_digest(text)}"


def clinics_treating(condition_id: int) -> str:
    """The clinics of a condition's page, in the cards' generation: never one unpublished since."""
    return f"search:{generation(CARDS_GENERATION_KEY)}:clinics:{condition_id}"


def suggestions(language: str, folded: str) -> str:
    """In the index's generation: never a specialist unpublished since."""
    return f"search:{generation()}:suggest:{language}:{_digest(folded)}"
