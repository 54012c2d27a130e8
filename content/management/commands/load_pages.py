from django.core.management.base import BaseCommand
from django.db import transaction

from content.demo import load_demo_pages


class Command(BaseCommand):
    help = (
        "Add the privacy policy, legal notice, contact page and editorial policy from "
        "fixtures/pages/ where they are missing (load_demo does it too), and the languages a page "
        "lacks while its texts are still the fixtures' own. What an editor wrote is never "
        "changed. For production: a starting text for editors to adapt."
    )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        added = load_demo_pages()
        self.stdout.write(f"Pages added or completed: {added}.")
