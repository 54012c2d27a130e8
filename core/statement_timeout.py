"""A time limit on every SQL statement of a web request (DATABASE_STATEMENT_TIMEOUT): a query
that runs away, or a database that hangs, holds a worker no longer than that; the visitor then
gets the friendly 503 page. Commands (imports, the seeder, migrations) have no such limit: they
may legitimately run long. config/wsgi.py switches it on for the web server only.
"""

from django.conf import settings
from django.db.backends.signals import connection_created


def _limit(sender, connection, **kwargs) -> None:
    seconds = settings.DATABASE_STATEMENT_TIMEOUT
    if seconds and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{seconds}s"])


def limit_web_requests() -> None:
    """Give every database connection this process opens from now on the statement timeout."""
    connection_created.connect(_limit, dispatch_uid="core.statement_timeout")


def stop_limiting() -> None:
    connection_created.disconnect(dispatch_uid="core.statement_timeout")
