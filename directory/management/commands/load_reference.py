from django.core.management.base import BaseCommand

from directory.places import load_reference_places
from directory.reference import load_taxonomy


class Command(BaseCommand):
    help = (
        "Load the reference data shipped in the repository: the medical fields of DE/AT/CH with "
        "what patients call them, the base catalogue of conditions and treatments, and the "
        "gazetteer's names in four languages, districts and postcodes. Adds what is missing and "
        "never removes what editors wrote; running it again changes nothing."
    )

    def handle(self, *args, **options) -> None:
        report = load_taxonomy()
        places = load_reference_places()
        self.stdout.write(
            "Medical fields: {} added, {} completed. Conditions and treatments: {} added, {} "
            "completed.".format(
                report.created["specialties"],
                report.updated["specialties"],
                report.created["conditions"],
                report.updated["conditions"],
            )
        )
        self.stdout.write(
            "Places: {updated} completed, {districts} districts, {postcodes} postcodes "
            "added.".format(**places)
        )
