from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from content.demo import load_demo_articles, load_demo_pages
from core.roles import EDITORS_GROUP, PATIENT_SERVICE_GROUP
from directory.demo import load_demo_directory
from directory.slots.demo import load_demo_slots

# The demo accounts (while DEBUG is on only): user name and password alike, and their group.
DEMO_USERS = {"editor": EDITORS_GROUP, "service": PATIENT_SERVICE_GROUP}


class Command(BaseCommand):
    help = (
        "Load the demo data set and, while DEBUG is on, the demo editor (editor/editor) and "
        "the demo patient service (service/service). "
        "Idempotent: running it again changes nothing."
    )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        added = load_demo_directory()
        added["articles"] = load_demo_articles()
        added["pages"] = load_demo_pages()
        # Free times to come: written and read again on every load.
        added["weekly times"] = load_demo_slots()
        if any(added.values()):
            self.stdout.write(
                "Demo data added: " + ", ".join(f"{count} {kind}" for kind, count in added.items())
            )
        if settings.DEBUG:
            for username, group in DEMO_USERS.items():
                self.ensure_demo_user(username, group)

    def ensure_demo_user(self, username: str, group: str) -> None:
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True}
        )
        if created or not user.check_password(username):
            user.set_password(username)
            user.is_staff = True
            user.save()
        user.groups.add(Group.objects.get(name=group))
        if created:
            self.stdout.write(f"Created the demo user {username!r} ({group}).")
