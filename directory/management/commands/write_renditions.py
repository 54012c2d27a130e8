from django.core.management.base import BaseCommand

from directory.images import write_renditions
from directory.models import Clinic, Specialist


class Command(BaseCommand):
    help = (
        "Write the renditions (WebP and the JPEG or PNG fallback, in every width) of each "
        "specialist's photo and each clinic's logo that are missing, for instance after a "
        "restore of the database without the renditions or an upgrade that adds a format. "
        "--all writes them all again. An original that is gone is reported and skipped."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--all", action="store_true", help="Write every rendition again, not only missing ones."
        )

    def handle(self, *args, **options) -> None:
        written = pictures = 0
        for model in (Specialist, Clinic):
            for obj in model.objects.exclude(**{f"{name}": "" for name in model.image_fields}):
                for name, fallback in model.image_fields.items():
                    field_file = getattr(obj, name)
                    if not field_file:
                        continue
                    if not field_file.storage.exists(field_file.name):
                        self.stderr.write(
                            f"{model._meta.verbose_name} {obj.pk}: the original {field_file.name} "
                            "is missing; upload it again in admin."
                        )
                        continue
                    pictures += 1
                    written += write_renditions(
                        field_file, fallback, missing_only=not options["all"]
                    )
        self.stdout.write(f"{written} renditions written for {pictures} pictures.")
