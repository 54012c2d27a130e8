from django.core.management.base import BaseCommand

from directory.search import index


class Command(BaseCommand):
    help = (
        "Rewrite the search rows of the specialists whose facts (accessibility) reached "
        "FACT_MAX_AGE_DAYS in the last week, so the filters stop counting them. Run daily "
        "(deploy/systemd/specialist-atlas-refresh-facts.timer); a missed day is caught up."
    )

    def handle(self, *args, **options) -> None:
        ids = index.expiring(within_days=7)
        index.rebuild(ids)
        self.stdout.write(f"{len(ids)} search rows rewritten.")
