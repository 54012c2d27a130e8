"""Write the FHIR bulk export (fhirapi/export.py): nightly, from
deploy/systemd/specialist-atlas-export-fhir.timer."""

from django.core.management.base import BaseCommand, CommandError

from fhirapi import export


class Command(BaseCommand):
    help = (
        "Write every published FHIR resource, one NDJSON file per type, and the manifest into "
        "FHIR_EXPORT_ROOT (served at /fhir/$export)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=export.BATCH_SIZE,
            help=f"Rows read at a time (default {export.BATCH_SIZE}).",
        )

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            manifest = export.export(batch_size=batch_size)
        except export.ExportError as error:
            raise CommandError(str(error)) from error
        counts = ", ".join(f"{item['type']} {item['count']}" for item in manifest["output"])
        self.stdout.write(
            f"Exported {counts} as of {manifest['transactionTime']} to {export.export_root()}."
        )
