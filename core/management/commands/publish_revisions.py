from django.core.management.base import BaseCommand

from core.revisions import publish_due


class Command(BaseCommand):
    help = (
        "Publish the draft revisions whose scheduled time has come (articles, profiles, "
        "clinics). Run it every minute; safe to run again and on several hosts at once."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"Published {publish_due()} scheduled revision(s).")
