from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from directory.models import FactReport
from directory.search import index


class Command(BaseCommand):
    help = (
        "Rewrite the search rows of the specialists whose facts (languages, insurance, new "
        "patients, hours, accessibility, services, certifications) reached FACT_MAX_AGE_DAYS, or "
        "whose certification ran out, in the last --days days (7), so the filters stop counting "
        "them. Run daily (deploy/systemd/specialist-atlas-refresh-facts.timer); a missed week is "
        "caught up with a larger --days, anything older with `manage.py rebuild_search`. Also "
        "deletes the visitors' reports older than FACT_REPORT_RETENTION_DAYS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7)

    def handle(self, *args, **options) -> None:
        ids = index.expiring(within_days=max(1, options["days"]))
        index.rebuild(ids)
        self.stdout.write(f"{len(ids)} search rows rewritten.")
        cutoff = timezone.now() - timedelta(days=settings.FACT_REPORT_RETENTION_DAYS)
        deleted, _by_model = FactReport.objects.filter(received__lt=cutoff).delete()
        self.stdout.write(f"{deleted} reports older than the retention period deleted.")
