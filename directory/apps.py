from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from core import dashboard
from core.roles import grant_app_permissions_to_editors


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = _("Directory")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(grant_app_permissions_to_editors, sender=self)
        from directory import signals  # noqa: F401  (connects the search index's receivers)
        from directory.admin import dashboard_entries

        dashboard.register(*dashboard_entries())
