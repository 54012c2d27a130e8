# ruff: noqa: T201 - a command-line report
"""`make loadtest`: gunicorn serves the site (DEBUG off), locust drives it for a fixed time.

Five runs in a row against the same server: the patient mix; the same mix under edits (an
editor saves a listing every 10 seconds and a 10,000-row CSV import runs meanwhile,
bench/edits.py); the condition page alone; the search pages alone; /healthz alone (the trivial
view: the condition and search pages should reach at least half its throughput). Prints
requests per second, p50, p95 and errors, writes bench/loadtest.json, and exits non-zero on any
error.
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
# (name, locust user class, with editors at work)
RUNS = [
    ("mix", "Patient", False),
    ("mix under edits", "Patient", True),
    ("condition page", "ConditionPage", False),
    ("search page", "SearchPage", False),
    ("trivial view", "Trivial", False),
]


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


def run(user_class: str, host: str, folder: Path, *, edits: bool = False) -> dict:
    prefix = folder / f"{user_class}{'-edits' if edits else ''}"
    editors = None
    if edits:
        editors = subprocess.Popen(  # noqa: S603 - a fixed command
            [str(BIN / "python"), str(ROOT / "bench/edits.py"), str(SECONDS)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        editors.stdout.readline()  # "ready": the import's file is made
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
    edited = None
    if editors is not None:
        output, _errors = editors.communicate(timeout=SECONDS + 600)
        lines = output.strip().splitlines()
        edited = json.loads(lines[-1]) if editors.returncode == 0 and lines else {"failed": True}
    with open(f"{prefix}_stats.csv", newline="") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    total = rows["Aggregated"]
    return {
        **({"edits": edited} if edited is not None else {}),
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
            results = {
                name: run(user, host, Path(folder), edits=edits) for name, user, edits in RUNS
            }
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    trivial = max(results["trivial view"]["rps"], 0.1)
    ratio = results["condition page"]["rps"] / trivial
    search_ratio = results["search page"]["rps"] / trivial
    workers = env.get("GUNICORN_WORKERS", "default")
    print(f"{SECONDS} s per run, {USERS} users, gunicorn with {workers} workers")
    print(f"{'run':<16}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'errors':>8}")
    for name, result in results.items():
        print(
            f"{name:<16}{result['requests']:>10}{result['rps']:>10}{result['p50_ms']:>10.0f}"
            f"{result['p95_ms']:>10.0f}{result['failures']:>8}"
        )
    print(f"condition page throughput: {ratio:.0%} of the trivial view (budget: at least 50 %)")
    print(f"search page throughput: {search_ratio:.0%} of the trivial view (budget: at least 50 %)")
    edits = results["mix under edits"].get("edits") or {}
    print(
        f"under edits: {edits.get('saves', 0)} listings saved, import "
        f"{edits.get('import')}; p95 {results['mix under edits']['p95_ms']:.0f} ms "
        "(budget: 100 ms, no errors)"
    )
    summary = {
        "seconds": SECONDS,
        "users": USERS,
        "runs": results,
        "condition_vs_trivial": ratio,
        "search_vs_trivial": search_ratio,
    }
    (ROOT / "bench/loadtest.json").write_text(json.dumps(summary, indent=2) + "\n")
    failed_edits = edits.get("failed") or (edits.get("import") or {}).get("errors")
    return 1 if failed_edits or any(r["failures"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
