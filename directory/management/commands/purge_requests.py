from django.conf import settings
from django.core.management.base import BaseCommand

from directory.appointments import purge


class Command(BaseCommand):
    help = (
        "Delete appointment requests older than APPOINTMENT_RETENTION_DAYS (run it daily). "
        "They are health data and are not kept longer."
    )

    def handle(self, *args, **options):
        count = purge()
        days = settings.APPOINTMENT_RETENTION_DAYS
        self.stdout.write(f"Deleted {count} appointment request(s) older than {days} days.")
