"""Slow clients (the issue "no slow client or slow service holds the site").

gunicorn's sync workers serve one connection each, from its first byte to its last: a client that
never finishes its request head holds a worker until gunicorn's worker timeout (30 s) kills it,
and two such clients hold both workers of a two-worker server, so every other visitor waits. In
front of it, nginx with the committed deploy/nginx/ snippets reads whole requests before passing
them on: the same slow clients hold only nginx connections, and gunicorn keeps answering.

Both servers run for real, on 127.0.0.1 only: gunicorn with config/gunicorn_settings.py and the
production settings (DEBUG off, the Redis cache) on the test database; nginx with a small
nginx.conf that includes deploy/nginx/limits.conf and proxy.conf themselves. The site file,
deploy/nginx/specialist-atlas.conf, is checked with `nginx -t` and a throwaway certificate.
"""

import contextlib
import grp
import http.client
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import redis
from django.db import connection

from tests.factories import AffiliationFactory

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "nginx"
NGINX = Path("/usr/sbin/nginx")
GUNICORN = Path(sys.executable).parent / "gunicorn"
# Several workers must share one cache (docs/deploy.md): this test's own Redis database.
REDIS_URL = "redis://127.0.0.1:6379/13"
WORKERS = 2
GUNICORN_TIMEOUT = 30
SLOW_CLIENTS = 200
# Only a failure detector: an answer that has not come by then is not coming. It must stay below
# GUNICORN_TIMEOUT, after which gunicorn kills a held worker and starts another.
CLIENT_TIMEOUT = 5
# The start of a request head whose closing blank line never comes.
INCOMPLETE_HEAD = b"GET /en/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-client\r\n"
# A whole head, then the start of a form whose promised 100 KB never come (a stalled upload). It
# carries a CSRF cookie, as anyone gets from a page: without one Django would refuse the form
# before reading it, and no worker would wait for the rest.
INCOMPLETE_BODY = (
    b"POST /en/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-client\r\n"
    b"Cookie: csrftoken=" + b"a" * 32 + b"\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nname="
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str) -> int:
    """The status of one ordinary GET to 127.0.0.1:port; TimeoutError if none comes in time."""
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
    try:
        client.request("GET", path)
        response = client.getresponse()
        response.read()
        return response.status
    finally:
        client.close()


def still_waiting(client: socket.socket) -> bool:
    """True while the server keeps the connection open and has sent nothing on it."""
    client.setblocking(False)  # with a timeout set, recv would first wait for data that long
    try:
        client.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False  # an answer, or the end of the connection


@contextlib.contextmanager
def slow_clients(port: int, start: bytes = INCOMPLETE_HEAD, count: int = SLOW_CLIENTS):
    """`count` connections to 127.0.0.1:port that send the start of a request, then nothing."""
    clients = []
    try:
        for _ in range(count):
            client = socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT)
            clients.append(client)
            client.sendall(start)
        yield clients
    finally:
        for client in clients:
            client.close()


def wait_until_answering(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if get(port, "/healthz") == 200:
                return
        if time.monotonic() > deadline:
            pytest.fail(f"{process.args[0]} did not answer /healthz:\n{log.read_text()}")
        time.sleep(0.1)


def stop(process: subprocess.Popen) -> None:
    """Stop a server started in a session of its own, and whatever it started."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def database_url(settings: dict) -> str:
    """DATABASE_URL for the test database: a server's host and port, or the embedded server's
    socket folder (percent-encoded in the host part, as dj-database-url reads it)."""
    user = quote(settings["USER"] or "", safe="")
    password = quote(settings["PASSWORD"] or "", safe="")
    host = quote(settings["HOST"] or "", safe="")
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    login = f"{user}:{password}@" if password else f"{user}@" if user else ""
    options = f"?{urlencode(settings['OPTIONS'])}" if settings.get("OPTIONS") else ""
    return f"postgres://{login}{host}{port}/{quote(settings['NAME'], safe='')}{options}"


def production_environment(port: int) -> dict[str, str]:
    """The settings of deploy/env.example, on loopback and the test database."""
    inherited = ("PATH", "HOME", "LANG", "TMPDIR")
    return {
        **{name: os.environ[name] for name in inherited if name in os.environ},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "slow-client-test-only-not-secret",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback; TLS is nginx's, not tested here
        "BEHIND_TLS_PROXY": "1",
        "REDIS_URL": REDIS_URL,
        "DATABASE_URL": database_url(connection.settings_dict),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(WORKERS),
        "GUNICORN_TIMEOUT": str(GUNICORN_TIMEOUT),
    }


@pytest.fixture
def needs_nginx():
    if not os.access(NGINX, os.X_OK):
        pytest.skip(f"needs nginx at {NGINX} (apt-get install nginx)")  # in CI a failure


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """gunicorn as in production, with two workers; yields its port."""
    if not os.access(GUNICORN, os.X_OK):
        pytest.skip(f"needs gunicorn at {GUNICORN}")  # in CI a failure
    cache = redis.Redis.from_url(REDIS_URL)
    try:
        cache.ping()
    except redis.ConnectionError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")  # in CI a failure
    port = free_port()
    env = production_environment(port)
    # With DEBUG off, pages name the hashed static files of the manifest collectstatic writes.
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert collected.returncode == 0, collected.stderr
    cache.flushdb()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - a fixed command
            [str(GUNICORN), "-c", str(ROOT / "config" / "gunicorn_settings.py")],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_answering(process, port, log)
        yield port
    finally:
        stop(process)
        cache.flushdb()
        cache.close()


def nginx_command(prefix: Path, *options: str) -> list[str]:
    """nginx with everything it writes under `prefix`, its nginx.conf included."""
    files = ["-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]
    return [str(NGINX), *options, *files]


def nginx_user() -> str:
    """As root, nginx's workers switch to the user its `user` directive names (Debian's own
    nginx.conf names www-data): here nobody, with nobody's group whatever it is called."""
    if os.geteuid() != 0:
        return ""  # the directive would only be ignored, with a warning
    nobody = pwd.getpwnam("nobody")
    return f"user {nobody.pw_name} {grp.getgrgid(nobody.pw_gid).gr_name};"


@pytest.fixture
def nginx(needs_nginx, gunicorn, tmp_path):
    """nginx with the committed snippets in front of the gunicorn above; yields its port."""
    port = free_port()
    # Not under tmp_path: nginx's workers (nobody, when run as root) must reach their temp
    # folders, and pytest's folder is private to the user running the tests.
    prefix = Path(tempfile.mkdtemp(prefix="atlas-nginx-"))
    prefix.chmod(0o755)
    (prefix / "nginx.conf").write_text(
        f"""
{nginx_user()}
daemon off;
worker_processes 1;
pid "{prefix}/nginx.pid";
error_log "{prefix}/error.log" warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
    client_body_temp_path "{prefix}/client_body";
    proxy_temp_path "{prefix}/proxy";
    fastcgi_temp_path "{prefix}/fastcgi";
    uwsgi_temp_path "{prefix}/uwsgi";
    scgi_temp_path "{prefix}/scgi";
    server {{
        listen 127.0.0.1:{port};
        include "{DEPLOY}/limits.conf";
        include "{DEPLOY}/proxy.conf";
        location / {{
            proxy_pass http://127.0.0.1:{gunicorn};
        }}
    }}
}}
"""
    )
    log = tmp_path / "nginx.log"
    try:
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 - a fixed command
                nginx_command(prefix),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until_answering(process, port, log)
            yield port
        finally:
            stop(process)
    finally:
        with contextlib.suppress(OSError):  # kept with pytest's files, for a failure's sake
            shutil.copy(prefix / "error.log", tmp_path / "nginx-error.log")
        shutil.rmtree(prefix, ignore_errors=True)


@pytest.mark.django_db(transaction=True)  # gunicorn sees committed data only
def test_slow_clients_hold_nginx_connections_not_gunicorn_workers(nginx, gunicorn):
    profile = f"/en/specialists/{AffiliationFactory().specialist.slug}/"

    with (
        slow_clients(nginx, INCOMPLETE_HEAD) as heads,
        slow_clients(nginx, INCOMPLETE_BODY) as uploads,
    ):
        # 200 clients stuck in their request heads and 200 in their uploads, and visitors still
        # get their pages. (The uploads would hold gunicorn without proxy_request_buffering.)
        assert get(nginx, "/healthz") == 200
        assert get(nginx, "/en/") == 200
        assert get(nginx, profile) == 200  # the test's own data: gunicorn reads its database
        # nginx holds them all, refusing none: it took the visitors' connections after them.
        assert all(still_waiting(client) for client in heads + uploads)

    # The contrast, straight at gunicorn: its two workers take the first two slow clients and
    # wait for the rest of their heads until the worker timeout; the visitor's connection waits
    # behind the other 198 in gunicorn's listen queue, which is served in order.
    with slow_clients(gunicorn) as held:
        with pytest.raises(TimeoutError):
            get(gunicorn, "/healthz")
        assert all(still_waiting(client) for client in held)

    # Once they are gone gunicorn answers again: its workers were held, not broken.
    assert get(gunicorn, "/healthz") == 200


def test_the_site_configuration_parses(needs_nginx, tmp_path):
    """`nginx -t` on deploy/nginx/specialist-atlas.conf as committed, but for its certificate
    paths; its includes find the committed snippets where docs/deploy.md links them."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("needs openssl for a throwaway certificate (apt-get install openssl)")
    certificate, key = tmp_path / "certificate.pem", tmp_path / "key.pem"
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    files = ["-keyout", str(key), "-out", str(certificate)]
    subprocess.run(  # noqa: S603 - a fixed command
        [openssl, "req", "-x509", *new_key, *files, "-days", "1", "-subj", "/CN=www.example.org"],
        check=True,
        capture_output=True,
    )
    site, replaced = re.subn(
        r"^(\s*ssl_certificate(_key)?) \S+;",
        lambda match: f'{match[1]} "{key if match[2] else certificate}";',
        (DEPLOY / "specialist-atlas.conf").read_text(),
        flags=re.MULTILINE,
    )
    assert replaced == 2
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "specialist-atlas").symlink_to(DEPLOY)
    (tmp_path / "nginx.conf").write_text(
        f"""
pid "{tmp_path}/nginx.pid";
error_log "{tmp_path}/error.log";
events {{}}
http {{
    access_log off;
    client_body_temp_path "{tmp_path}/client_body";
    proxy_temp_path "{tmp_path}/proxy";
    fastcgi_temp_path "{tmp_path}/fastcgi";
    uwsgi_temp_path "{tmp_path}/uwsgi";
    scgi_temp_path "{tmp_path}/scgi";
    include site.conf;
}}
"""
    )

    result = subprocess.run(  # noqa: S603 - a fixed command
        nginx_command(tmp_path, "-t"),
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
