import shutil
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from directory.csv_format import CsvFormatError, ImportReport, RowResult, import_specialists


def write_result(command: BaseCommand, result: RowResult) -> None:
    detail = f" ({', '.join(result.changes)})" if result.changes else ""
    command.stdout.write(f"row {result.row}: {result.action} {result.slug}{detail}")


def write_report(command: BaseCommand, report: ImportReport, *, dry_run: bool) -> None:
    """The rest of the report, after each row's result."""
    command.stdout.write(f"read as {report.source}")
    for kind in ("specialties", "conditions", "clinics"):
        names = getattr(report, f"new_{kind}")
        if names:
            command.stdout.write(
                f"new {kind}, flagged for review and hidden until approved: {', '.join(names)}"
            )
    for row, error in report.errors:
        command.stderr.write(f"row {row}: error: {error}")
    summary = (
        f"{report.count('create')} to create, {report.count('update')} to update, "
        f"{report.count('unchanged')} unchanged, {len(report.errors)} errors"
    )
    if report.errors:
        command.stderr.write(f"{summary}. Nothing was changed.")
    elif dry_run:
        command.stdout.write(f"{summary}. Dry run: nothing was changed.")
    else:
        command.stdout.write(command.style.SUCCESS(f"{summary}. Imported."))


def _spooled(stream):
    """A copy of a stream that cannot seek, in memory up to 8 MB and on disk beyond."""
    copy = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned
    with stream:
        shutil.copyfileobj(stream, copy)
    copy.seek(0)
    return copy


class Command(BaseCommand):
    help = (
        "Import specialists from a CSV file (comma, semicolon or tab; UTF-8, UTF-16 or "
        "Windows-1252) or an Excel workbook (.xlsx) in the directory format (README, 'Data'). "
        "All or nothing: any row error changes nothing and exits non-zero. Progress goes to "
        "standard error."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List creates, updates and errors; change nothing.",
        )
        parser.add_argument(
            "--create-taxonomy",
            action="store_true",
            help=(
                "Create medical fields and conditions the file names but the directory does not "
                "know, flagged for review and hidden from the site until an editor approves "
                "them. Without it, an unknown name is a row error with the nearest known names."
            ),
        )

    def handle(self, *args, file: Path, dry_run: bool, create_taxonomy: bool, **options) -> None:
        try:
            data = file.open("rb")  # read as it goes: a file of any length, in the same memory
            if not data.seekable():  # a pipe (/dev/stdin): the import reads it twice
                data = _spooled(data)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}") from None

        def progress(step: str, done: int, total: int) -> None:
            # On standard error, so the report on standard output stays a clean list.
            self.stderr.write(f"{step} {done:,} of {total:,} rows", ending="\n")
            self.stderr.flush()

        try:
            with data:
                report = import_specialists(
                    data,
                    dry_run=dry_run,
                    create_taxonomy=create_taxonomy,
                    progress=progress,
                    on_result=lambda result: write_result(self, result),
                )
        except CsvFormatError as error:
            raise CommandError(str(error)) from None
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}") from None
        write_report(self, report, dry_run=dry_run)
        if report.errors:
            raise CommandError(f"{len(report.errors)} row errors; nothing was imported.")
