"""The Editors group: listings and content, nothing about users.

Each app connects `grant_app_permissions_to_editors` to post_migrate, so the group exists and holds
the permissions of that app's models after every `migrate`, in every environment.
"""

from django.apps import AppConfig

EDITORS_GROUP = "Editors"


def grant_app_permissions_to_editors(app_config: AppConfig, using: str = "default", **kwargs):
    """Give the Editors group every permission on the app's models, except those the app keeps
    from editors in `editor_excluded_models` (lower-case model names). Runs queries."""
    from django.contrib.auth.models import Group, Permission

    excluded = getattr(app_config, "editor_excluded_models", set())
    group, _ = Group.objects.using(using).get_or_create(name=EDITORS_GROUP)
    permissions = (
        Permission.objects.using(using)
        .filter(content_type__app_label=app_config.label)
        .exclude(content_type__model__in=excluded)
    )
    group.permissions.add(*permissions)
