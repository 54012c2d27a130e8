from django.core.management.base import BaseCommand, CommandError

from appointments.delivery import send_pending


class Command(BaseCommand):
    help = (
        "Send the emails of appointment requests that could not be sent before (run it every "
        "few minutes, e.g. from a systemd timer). Exits non-zero when a send fails."
    )

    def handle(self, *args, **options):
        sent, failed = send_pending()
        self.stdout.write(f"Sent {sent} pending appointment request(s); {failed} failed again.")
        if failed:
            raise CommandError(f"{failed} appointment request(s) could not be sent yet.")
