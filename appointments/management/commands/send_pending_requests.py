from django.core.management.base import BaseCommand, CommandError

from appointments.delivery import send_pending


class Command(BaseCommand):
    help = (
        "Send the emails of appointment requests, and of answers to them, that could not be sent "
        "before (run it every few minutes, e.g. from a systemd timer). Exits non-zero when a "
        "send fails."
    )

    def handle(self, *args, **options):
        sent, failed = send_pending()
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
