# ruff: noqa: T201 - a command-line report
"""Screenshots for docs/: the condition page and the search page on a phone (390 x 844) and on a
laptop (1366 x 900), in English and German, as a newcomer would see them.

Run by `make screenshots` against a server with DEBUG off over the demo data; writes
docs/screenshots/<page>-<device>-<lang>.png (the first two screens of a phone, the first screen
of a laptop). Playwright drives Debian's Chromium; nothing is downloaded.
"""

import sys
from pathlib import Path

from chromium import CHROMIUM, CHROMIUM_FLAGS  # bench/ is this script's folder, on sys.path
from loadtest import wait_for
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "screenshots"
DEVICES = {
    "phone": ({"width": 390, "height": 844}, 2),
    "laptop": ({"width": 1366, "height": 900}, 1),
}
PAGES = {
    "condition": {
        "en": "/en/conditions/liver-metastases/",
        "de": "/de/conditions/liver-metastases/",
    },
    "search": {
        "en": "/en/specialists/?q=liver+metastases&city=Hamburg",
        "de": "/de/specialists/?q=Lebermetastasen&city=Hamburg",
    },
}


def main(base: str) -> int:
    wait_for(f"{base}/healthz")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        for device, (viewport, screens) in DEVICES.items():
            page = browser.new_page(viewport=viewport)
            for name, paths in PAGES.items():
                for language, path in paths.items():
                    page.goto(base + path, wait_until="networkidle")
                    # Load the lazy pictures within the shot, then go back to the top.
                    page.mouse.wheel(0, viewport["height"] * screens)
                    page.wait_for_load_state("networkidle")
                    page.mouse.wheel(0, -viewport["height"] * screens)
                    target = OUTPUT / f"{name}-{device}-{language}.png"
                    page.screenshot(
                        path=target,
                        full_page=True,
                        clip={"x": 0, "y": 0, **viewport, "height": viewport["height"] * screens},
                    )
                    print(target.relative_to(ROOT))
            page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8765"))
