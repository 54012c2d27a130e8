from django.core.management.base import BaseCommand

from directory.search import index


class Command(BaseCommand):
    help = (
        "Rewrite the search rows of the specialists whose facts (languages, insurance, new "
        "patients, hours, accessibility, services, certifications) reached FACT_MAX_AGE_DAYS, or "
        "whose certification ran out, in the last --days days (7), so the filters stop counting "
        "them. Run daily (deploy/systemd/specialist-atlas-refresh-facts.timer); a missed week is "
        "caught up with a larger --days, anything older with `manage.py rebuild_search`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7)

    def handle(self, *args, **options) -> None:
        ids = index.expiring(within_days=max(1, options["days"]))
        index.rebuild(ids)
        self.stdout.write(f"{len(ids)} search rows rewritten.")
