# ruff: noqa: T201 - a command-line report
"""`make loadtest`: gunicorn serves the site (DEBUG off), locust drives it for a fixed time.

Three runs in a row against the same server: the patient mix, the condition page alone and
/healthz alone (the trivial view; SPEC section 10 asks the condition page for at least half its
throughput). Prints requests per second, p50, p95 and errors, writes bench/loadtest.json, and
exits non-zero on any error.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECONDS = int(os.environ.get("LOADTEST_SECONDS", "60"))
USERS = int(os.environ.get("LOADTEST_USERS", "16"))
PORT = int(os.environ.get("LOADTEST_PORT", "8766"))
RUNS = [("mix", "Patient"), ("condition page", "ConditionPage"), ("trivial view", "Trivial")]


def wait_for(url: str, seconds: float = 60) -> None:
    """Until the server started for a measurement answers `url`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url)  # noqa: S310 - our own server
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def run(user_class: str, host: str, folder: Path) -> dict:
    prefix = folder / user_class
    subprocess.run(  # noqa: S603 - a fixed command
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "bench/locustfile.py"),
            "--headless",
            "--users",
            str(USERS),
            "--spawn-rate",
            str(USERS),
            "--run-time",
            f"{SECONDS}s",
            "--host",
            host,
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
            user_class,
        ],
        check=False,
        capture_output=True,
    )
    with open(f"{prefix}_stats.csv", newline="") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    total = rows["Aggregated"]
    return {
        "requests": int(total["Request Count"])
        - int(rows.get("setup", {}).get("Request Count", 0)),
        "failures": int(total["Failure Count"]),
        "rps": round(float(total["Requests/s"]), 1),
        "p50_ms": float(total["50%"]),
        "p95_ms": float(total["95%"]),
        "pages": {
            name: {"rps": round(float(row["Requests/s"]), 1), "p95_ms": float(row["95%"])}
            for name, row in rows.items()
            if name not in {"Aggregated", "setup"}
        },
    }


def main() -> int:
    host = f"http://127.0.0.1:{PORT}"
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{PORT}"}
    (ROOT / "var").mkdir(exist_ok=True)
    log = (ROOT / "var/loadtest-server.log").open("w")
    server = subprocess.Popen(  # noqa: S603 - a fixed command
        [str(BIN / "gunicorn"), "-c", str(ROOT / "config/gunicorn_settings.py")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        wait_for(f"{host}/healthz")
        with tempfile.TemporaryDirectory() as folder:
            results = {name: run(user, host, Path(folder)) for name, user in RUNS}
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    ratio = results["condition page"]["rps"] / max(results["trivial view"]["rps"], 0.1)
    workers = env.get("GUNICORN_WORKERS", "default")
    print(f"{SECONDS} s per run, {USERS} users, gunicorn with {workers} workers")
    print(f"{'run':<16}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'errors':>8}")
    for name, result in results.items():
        print(
            f"{name:<16}{result['requests']:>10}{result['rps']:>10}{result['p50_ms']:>10.0f}"
            f"{result['p95_ms']:>10.0f}{result['failures']:>8}"
        )
    print(f"condition page throughput: {ratio:.0%} of the trivial view (budget: at least 50 %)")
    summary = {"seconds": SECONDS, "users": USERS, "runs": results, "condition_vs_trivial": ratio}
    (ROOT / "bench/loadtest.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 1 if any(result["failures"] for result in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
