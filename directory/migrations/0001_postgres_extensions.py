from django.contrib.postgres.operations import (
    CreateExtension,
    TrigramExtension,
    UnaccentExtension,
)
from django.db import migrations


class Migration(migrations.Migration):
    """The extensions search needs: trigram similarity, accent folding, great-circle distance."""

    initial = True
    dependencies = []

    operations = [
        TrigramExtension(),
        UnaccentExtension(),
        CreateExtension("cube"),
        CreateExtension("earthdistance"),
    ]
