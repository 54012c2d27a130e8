from django.core.management.base import BaseCommand

from directory.search.index import rebuild_all


class Command(BaseCommand):
    help = (
        "Rebuild the search index (every specialist's search row and the typo vocabulary) "
        "from the listings. Saves, imports and seed_demo keep it up to date by themselves; this "
        "is for changes made to the database by hand."
    )

    def handle(self, *args, **options) -> None:
        rows = rebuild_all()
        self.stdout.write(f"Indexed {rows} published specialists.")
