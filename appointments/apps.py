from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    """Appointment requests and where they go. Health data: the Editors group gets none of these
    permissions; the Patient service group gets them all (core/roles.py), and staff are given
    that group, or the permissions one by one."""

    name = "appointments"
    verbose_name = _("Appointment requests")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from appointments import signals  # noqa: F401  (listings' addresses become proposals)
        from core.roles import grant_patient_service_permissions

        post_migrate.connect(grant_patient_service_permissions, sender=self)

        from appointments.admin import dashboard_entries
        from core import dashboard

        dashboard.register(*dashboard_entries())
