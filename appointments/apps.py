from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    """Appointment requests and where they go. Health data: the Editors group gets none of these
    permissions (core/roles.py is not connected here); staff are given them one by one."""

    name = "appointments"
    verbose_name = _("Appointment requests")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from appointments import signals  # noqa: F401  (listings' addresses become proposals)
