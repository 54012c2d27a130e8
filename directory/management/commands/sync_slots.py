from django.core.management.base import BaseCommand, CommandError

from directory.models import SlotSource
from directory.slots import availability, sync


class Command(BaseCommand):
    help = (
        "Read the free appointment times of every active slot source (SMART Scheduling Links "
        "feeds and uploaded files) that changed, and move each specialist's next free time on "
        "as time passes and holds run out. Run every few minutes "
        "(deploy/systemd/specialist-atlas-sync-slots.timer). A feed that cannot be used is "
        "reported on its source in admin and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", type=int, action="append", help="Only this source (ID).")
        parser.add_argument(
            "--force", action="store_true", help="Read the feeds even if they did not change."
        )

    def handle(self, *args, **options) -> None:
        sources = SlotSource.objects.active().select_related("clinic", "specialist")
        if options["source"]:
            sources = SlotSource.objects.filter(pk__in=options["source"])
            missing = set(options["source"]) - set(sources.values_list("pk", flat=True))
            if missing:
                raise CommandError(f"No slot source with the ID {min(missing)}.")
        counts = {"synced": 0, "unchanged": 0, "failed": 0}
        for source in sources.order_by("pk"):
            outcome = sync.sync(source, force=options["force"])
            counts[outcome.state] += 1
        rolled = availability.roll()
        self.stdout.write(
            f"{counts['synced']} sources read, {counts['unchanged']} unchanged, "
            f"{counts['failed']} with a problem; {rolled} next free times moved on."
        )
