"""Primary and read replica. With DATABASE_REPLICA_URL set, public page views
read from the replica; everything else (writes, admin, the request forms, signed-in users,
commands) uses the primary.

A request is public when it is a GET or HEAD outside the admin and the request forms, from a
browser without a session (staff previewing a draft have one, and must see what they just
saved). The middleware decides once per request; the router reads that decision.
"""

import logging
from contextvars import ContextVar

from django.conf import settings

logger = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"

_read_from_replica: ContextVar[bool] = ContextVar("read_from_replica", default=False)


def is_public(request) -> bool:
    return (
        request.method in {"GET", "HEAD"}
        and not request.path.startswith("/admin/")
        and "/request/" not in request.path
        and "/requests/" not in request.path  # a request's conversation: always the primary
        and "/practice/" not in request.path  # a practice's own pages show what it just saved
        and "/book/" not in request.path  # a slot just held or freed
        and "/bookings/" not in request.path  # a booking's links, right after it was made
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
    )


def replica_reachable() -> bool:
    """Whether the replica answers (checked once per request, as Django's connection health
    check would on the first query). When it does not, the request reads from the primary
    instead of failing."""
    from django.db import DatabaseError, connections

    replica = connections[REPLICA]
    try:
        replica.close_if_health_check_failed()
        replica.ensure_connection()
    except DatabaseError as error:
        logger.warning("The replica is unreachable (%s); reading from the primary.", error)
        return False
    return True


class ReplicaMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        use_replica = (
            bool(settings.DATABASE_ROUTERS)
            and REPLICA in settings.DATABASES
            and is_public(request)
            and replica_reachable()
        )
        token = _read_from_replica.set(use_replica)
        try:
            return self.get_response(request)
        finally:
            _read_from_replica.reset(token)


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        return REPLICA if _read_from_replica.get() else PRIMARY

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data on both

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY  # the replica follows the primary's schema by replication


def read_alias() -> str:
    """The database for raw SQL reads of public pages (the ORM asks the router itself)."""
    from django.db import router

    return router.db_for_read(None)
