from django.core.management.base import BaseCommand, CommandError

from appointments import bookings
from appointments.delivery import send_pending


class Command(BaseCommand):
    help = (
        "Send the emails of appointment requests, of answers to them and of bookings that could "
        "not be sent before, and free the slots of bookings not confirmed in time (run it every "
        "few minutes, e.g. from a systemd timer). Exits non-zero when a send fails."
    )

    def handle(self, *args, **options):
        sent, failed = send_pending()
        # Bookings: the holds that ran out first (their slots are free again), then the emails.
        booked_sent, booked_failed = bookings.send_pending()
        sent, failed = sent + booked_sent, failed + booked_failed
        self.stdout.write(
            f"Sent {sent} pending email(s) of appointment requests; {failed} failed again."
        )
        if failed:
            emails = (
                "email of an appointment request"
                if failed == 1
                else "emails of appointment requests"
            )
            raise CommandError(f"{failed} {emails} could not be sent yet.")
