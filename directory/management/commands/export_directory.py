import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from directory.csv_format import export_specialists


class Command(BaseCommand):
    help = "Export specialists as CSV in the import format, to standard output or to a file."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, nargs="?", help="Write here instead of stdout.")

    def handle(self, *args, file: Path | None, **options) -> None:
        if file is None:
            count = export_specialists(self.stdout)
        else:
            try:
                with file.open("w", encoding="utf-8", newline="") as output:
                    count = export_specialists(output)
            except OSError as error:
                raise CommandError(f"Cannot write {file}: {error.strerror}") from None
        sys.stderr.write(f"Exported {count} specialists.\n")
