from django.conf import settings
from django.core.management.base import BaseCommand

from appointments import bookings
from appointments.delivery import purge
from core.rate_limits import forget_passed_windows


class Command(BaseCommand):
    help = (
        "Delete appointment requests and bookings older than APPOINTMENT_RETENTION_DAYS (run it "
        "daily). "
        "They are health data and are not kept longer. Also forgets rate-limit counts of windows "
        "that have passed."
    )

    def handle(self, *args, **options):
        count = purge()
        days = settings.APPOINTMENT_RETENTION_DAYS
        self.stdout.write(f"Deleted {count} appointment request(s) older than {days} days.")
        count = bookings.purge()
        self.stdout.write(f"Deleted {count} booking(s) older than {days} days.")
        forget_passed_windows()
