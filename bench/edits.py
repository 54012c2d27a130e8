# ruff: noqa: T201 - a command-line report
"""The editors of `make loadtest`'s "mix under edits" run: while patients use the site, an editor
saves a listing every EDIT_EVERY seconds and a CSV import of up to IMPORT_ROWS rows runs.

Run by bench/loadtest.py beside the server, with the server's settings, for `seconds`:

    python bench/edits.py SECONDS

It prints "ready" once the import's file is made (before the patients start), and what it did
as JSON on its last line when done.

The editor changes what the search sees (whether the specialist takes new patients), as a
save in admin does, so every save makes the counts stale. The import is the directory's own
export of that many published listings, with the same column changed in every row, applied
with the admin's and `import_directory`'s code.
"""

import csv
import io
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

EDIT_EVERY = float(os.environ.get("LOADTEST_EDIT_EVERY", "10"))
IMPORT_ROWS = int(os.environ.get("LOADTEST_IMPORT_ROWS", "10000"))
IMPORT_AFTER = 5  # seconds: the import starts once the patients are under way


def import_file(count: int) -> str:
    """The export of `count` published listings with "new_patients" flipped in each row: what an
    editor would upload after changing one column in a spreadsheet."""
    from directory.csv_format import export_specialists
    from directory.models import Specialist

    ids = list(Specialist.objects.published().order_by("id").values_list("id", flat=True)[:count])
    output = io.StringIO()
    export_specialists(output, Specialist.objects.filter(id__in=ids))
    rows = list(csv.reader(io.StringIO(output.getvalue())))
    column = rows[0].index("new_patients")
    for row in rows[1:]:
        row[column] = "no" if row[column] == "yes" else "yes"
    flipped = io.StringIO()
    csv.writer(flipped, lineterminator="\n").writerows(rows)
    return flipped.getvalue()


def import_rows(data: str) -> dict:
    """Import the file as the admin and `import_directory` do; what it did and how long it took."""
    from directory.csv_format import import_specialists

    started = time.monotonic()
    report = import_specialists(data)
    return {
        "rows": report.rows,
        "applied": report.applied,
        "errors": len(report.errors),
        "seconds": round(time.monotonic() - started, 1),
    }


def main(seconds: float) -> dict:
    import django

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.db import connections

    from directory.models import Specialist

    result: dict = {"saves": 0, "import": None}
    data = import_file(IMPORT_ROWS)
    print("ready", flush=True)  # the file is made before the patients start

    def run_import() -> None:
        time.sleep(IMPORT_AFTER)
        try:
            result["import"] = import_rows(data)
        finally:
            connections.close_all()

    importer = threading.Thread(target=run_import, name="import")
    importer.start()
    ids = list(Specialist.objects.published().values_list("id", flat=True)[:5000])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        specialist = Specialist.objects.get(pk=random.choice(ids))  # noqa: S311
        specialist.accepts_new_patients = not specialist.accepts_new_patients
        specialist.save()
        result["saves"] += 1
        time.sleep(max(0.0, min(EDIT_EVERY, deadline - time.monotonic())))
    importer.join()
    return result


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]))))
