from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """Site-wide pieces: health check, proxies, request logs, the replica router, roles, rate
    limits and the deployment checks."""

    name = "core"
    verbose_name = _("Site")
    default_auto_field = "django.db.models.BigAutoField"
    # Editors see the revisions of what they write, nothing else of the site's machinery.
    editor_excluded_models = {"ratelimitcount"}

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from core import (
            checks,  # noqa: F401  (registers the deployment checks)
            dashboard,
        )
        from core.roles import grant_app_permissions_to_editors

        post_migrate.connect(grant_app_permissions_to_editors, sender=self)
        from core.admin import revision_dashboard_entries

        dashboard.register(*revision_dashboard_entries())
