from django.core.management.base import BaseCommand, CommandError

from appointments.reminders import ESCALATE_AFTER, REMIND_AFTER, remind


class Command(BaseCommand):
    help = (
        f"Follow up requests the practice has not answered: remind the practice once after "
        f"{REMIND_AFTER} working days, pass the request to the patient service and tell the "
        f"patient after {ESCALATE_AFTER} (weekends and the practice's public holidays not "
        "counted). Run it hourly; safe to run again and on several hosts at once. Exits "
        "non-zero when an email could not be sent (the next run tries again)."
    )

    def handle(self, *args, **options):
        done = remind()
        self.stdout.write(
            f"Reminded {done['reminded']} practice(s); passed {done['escalated']} request(s) "
            f"to the patient service; {done['failed']} failed."
        )
        if done["failed"]:
            raise CommandError(f"{done['failed']} follow-up(s) could not be sent yet.")
