"""AppointmentRequest moves from the directory app to this one. The table stays as it is
(directory_appointmentrequest): only Django's idea of which app owns it changes, and the content
type (with its permissions and admin history) is handed over."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def hand_over_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(
        app_label="directory", model="appointmentrequest"
    ).update(app_label="appointments")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("directory", "0005_appointment_requests"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AppointmentRequest",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=120, verbose_name="your name")),
                        ("email", models.EmailField(max_length=254, verbose_name="email address")),
                        ("phone", models.CharField(blank=True, max_length=40, verbose_name="phone (optional)")),
                        ("message", models.TextField(help_text="What the appointment is for and when you could come. Please give only the medical details the practice needs to find the right appointment.", max_length=2000, verbose_name="message")),
                        ("preferred_language", models.CharField(max_length=2, verbose_name="preferred language")),
                        ("site_language", models.CharField(editable=False, max_length=2, verbose_name="language of the site")),
                        ("consent_at", models.DateTimeField(editable=False, verbose_name="consent given")),
                        ("status", models.CharField(choices=[("new", "New"), ("forwarded", "Forwarded"), ("closed", "Closed")], default="new", max_length=10, verbose_name="status")),
                        ("created", models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="received")),
                        ("recipient", models.EmailField(blank=True, editable=False, help_text="The practice's address, or the site's inbox when the listing has none.", max_length=254, verbose_name="sent to")),
                        ("practice_notified_at", models.DateTimeField(blank=True, editable=False, null=True, verbose_name="practice notified")),
                        ("patient_notified_at", models.DateTimeField(blank=True, editable=False, null=True, verbose_name="confirmation sent")),
                        ("failed_attempts", models.PositiveSmallIntegerField(default=0, editable=False, verbose_name="failed sending attempts")),
                        ("clinic", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="appointment_requests", to="directory.clinic", verbose_name="clinic")),
                        ("specialist", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="appointment_requests", to="directory.specialist", verbose_name="specialist")),
                    ],
                    options={
                        "verbose_name": "appointment request",
                        "verbose_name_plural": "appointment requests",
                        "db_table": "directory_appointmentrequest",
                        "ordering": ["-created"],
                        "indexes": [
                            models.Index(fields=["status", "created"], name="appointment_status_created_idx"),
                            models.Index(fields=["created"], name="appointment_created_idx"),
                        ],
                        "constraints": [
                            models.CheckConstraint(condition=models.Q(models.Q(("clinic__isnull", True), ("specialist__isnull", False)), models.Q(("clinic__isnull", False), ("specialist__isnull", True)), _connector="OR"), name="appointment_request_one_target"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(hand_over_content_type, migrations.RunPython.noop),
    ]
