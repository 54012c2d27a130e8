"""AppointmentRequest now belongs to the appointments app (its migration 0001 takes over the
table as it is); here it only leaves the directory's state."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("directory", "0005_appointment_requests"),
        ("appointments", "0001_appointment_requests_from_directory"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AppointmentRequest")],
            database_operations=[],
        ),
    ]
