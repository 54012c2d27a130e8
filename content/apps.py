from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from core import dashboard
from core.roles import grant_app_permissions_to_editors


class ContentConfig(AppConfig):
    name = "content"
    verbose_name = _("Content")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(grant_app_permissions_to_editors, sender=self)
        from content import signals  # noqa: F401  (changed articles and pages leave the cache)
        from content.admin import dashboard_entries

        dashboard.register(*dashboard_entries())
