# ruff: noqa: T201 - a command-line report
"""Lighthouse on the four pages patients land on most: home, search, condition page, profile.

Run by `make audit` against a server with DEBUG off. Prints the four category scores per page and
writes them to bench/audit.json. Lighthouse comes from npm (node_modules) and drives Debian's
Chromium (CHROME_PATH); nothing is downloaded.
"""

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from chromium import CHROMIUM, CHROMIUM_FLAGS  # bench/ is this script's folder, on sys.path
from loadtest import wait_for

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "node_modules/.bin/lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
CHROME_FLAGS = " ".join(CHROMIUM_FLAGS)


def pages(base: str) -> dict[str, str]:
    condition = f"{base}/en/conditions/liver-metastases/"
    html = urllib.request.urlopen(condition).read().decode()  # noqa: S310 - our own server
    profile = re.search(r'href="(/en/specialists/[a-z0-9-]+/)"', html).group(1)
    return {
        "home": f"{base}/en/",
        "search": f"{base}/en/specialists/?q=liver&city=Berlin&radius=500",
        "condition": condition,
        "profile": f"{base}{profile}",
    }


def audit(url: str) -> dict[str, int]:
    result = subprocess.run(  # noqa: S603 - a fixed command
        [
            str(LIGHTHOUSE),
            url,
            "--output=json",
            "--output-path=stdout",
            "--quiet",
            f"--only-categories={','.join(CATEGORIES)}",
            f"--chrome-flags={CHROME_FLAGS}",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", str(CHROMIUM))},
    )
    report = json.loads(result.stdout)
    scores = {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}
    failed = [
        audit["id"]
        for audit in report["audits"].values()
        if audit.get("score") is not None
        and audit["score"] < 0.9
        and audit.get("scoreDisplayMode") in {"binary", "numeric"}
    ]
    return {**scores, "below_90": failed}


def main(base: str) -> int:
    wait_for(f"{base}/healthz")
    results = {name: audit(url) for name, url in pages(base).items()}
    print(f"{'page':<10} " + " ".join(f"{name:>15}" for name in CATEGORIES))
    for name, scores in results.items():
        print(f"{name:<10} " + " ".join(f"{scores[c]:>15}" for c in CATEGORIES))
        if scores["below_90"]:
            print(f"{'':<10} audits below 90: {', '.join(scores['below_90'])}")
    (ROOT / "bench/audit.json").write_text(json.dumps(results, indent=2) + "\n")
    lowest = min(scores[c] for scores in results.values() for c in CATEGORIES)
    return 0 if lowest >= 95 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8765"))
