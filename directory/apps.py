from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from config.roles import grant_app_permissions_to_editors


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = _("Directory")
    default_auto_field = "django.db.models.BigAutoField"
    # Appointment requests are health data: editors do not see them unless given the permission.
    editor_excluded_models = {"appointmentrequest"}

    def ready(self) -> None:
        post_migrate.connect(grant_app_permissions_to_editors, sender=self)
        from config import checks  # noqa: F401  (registers the deployment checks)
        from directory import signals  # noqa: F401  (connects the search index's receivers)
