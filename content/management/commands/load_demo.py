from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from content.demo import load_demo_articles, load_demo_pages
from core.roles import EDITORS_GROUP
from directory.demo import load_demo_directory

DEMO_EDITOR = "editor"


class Command(BaseCommand):
    help = (
        "Load the demo data set and, while DEBUG is on, the demo editor (editor/editor). "
        "Idempotent: running it again changes nothing."
    )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        added = load_demo_directory()
        added["articles"] = load_demo_articles()
        added["pages"] = load_demo_pages()
        if any(added.values()):
            self.stdout.write(
                "Demo data added: " + ", ".join(f"{count} {kind}" for kind, count in added.items())
            )
        if settings.DEBUG:
            self.ensure_demo_editor()

    def ensure_demo_editor(self) -> None:
        user, created = get_user_model().objects.get_or_create(
            username=DEMO_EDITOR, defaults={"is_staff": True}
        )
        if created or not user.check_password(DEMO_EDITOR):
            user.set_password(DEMO_EDITOR)
            user.is_staff = True
            user.save()
        user.groups.add(Group.objects.get(name=EDITORS_GROUP))
        if created:
            self.stdout.write(f"Created the demo editor {DEMO_EDITOR!r}.")
