import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from directory.csv_format import export_specialists


class Command(BaseCommand):
    help = (
        "Export specialists in the import format: CSV to standard output or to a file, or an "
        "Excel workbook (--format xlsx, or a file name ending in .xlsx)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, nargs="?", help="Write here instead of stdout.")
        parser.add_argument(
            "--format",
            dest="kind",
            choices=["csv", "xlsx"],
            help="csv (the default) or xlsx; by default taken from the file name.",
        )

    def handle(self, *args, file: Path | None, kind: str | None, **options) -> None:
        xlsx = (kind or ("xlsx" if file and file.suffix.lower() == ".xlsx" else "csv")) == "xlsx"
        if file is None:
            if xlsx:
                raise CommandError("An Excel workbook needs a file name to write to.")
            count = export_specialists(self.stdout)
        else:
            try:
                if xlsx:
                    with file.open("wb") as output:
                        count = export_specialists(output, xlsx=True)
                else:
                    with file.open("w", encoding="utf-8", newline="") as output:
                        count = export_specialists(output)
            except OSError as error:
                raise CommandError(f"Cannot write {file}: {error.strerror}") from None
        sys.stderr.write(f"Exported {count} specialists.\n")
