from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from directory.models import Slot
from directory.slots import weekly


class Command(BaseCommand):
    help = (
        "Make the free slots of every weekly times entered on this site for the next "
        "SLOT_WEEKS_AHEAD weeks (directory/slots/weekly.py): keeps those still wanted, removes "
        "free ones no longer wanted, never touches a slot a booking holds or has taken. Run daily "
        "(deploy/systemd/specialist-atlas-generate-slots.timer), so the horizon moves on; saving "
        "the times in admin or on the practice's page regenerates them at once. Also removes the "
        "slots (of feeds too) that began more than a day ago."
    )

    def handle(self, *args, **options) -> None:
        result = weekly.regenerate_all()
        # Slots over for a day are of no use to anyone (bookings keep their own copy).
        past, _by_model = Slot.objects.filter(start__lt=timezone.now() - timedelta(days=1)).delete()
        self.stdout.write(f"{past} past slots removed.")
        self.stdout.write(
            f"Slots: {result.added} added, {result.deleted} removed, {result.kept} kept, "
            f"{result.left} left for the next run (a booking had them locked)."
        )
