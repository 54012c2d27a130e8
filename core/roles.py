"""The roles: the Editors group (listings and content, nothing about users or requests) and the
Patient service group (appointment requests, their addresses and the listings they go to, read
only).

Each app connects `grant_app_permissions_to_editors` to post_migrate, so the group exists and holds
the permissions of that app's models after every `migrate`, in every environment.
"""

from django.apps import AppConfig

EDITORS_GROUP = "Editors"
PATIENT_SERVICE_GROUP = "Patient service"
# What the patient service may see of the directory besides the requests: the listings, read only.
PATIENT_SERVICE_DIRECTORY = ["view_specialist", "view_clinic"]


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


def grant_patient_service_permissions(app_config: AppConfig, using: str = "default", **kwargs):
    """Give the Patient service group every permission of the appointments app (the inbox of
    requests, their answers, where listings' requests go) and the right to view listings.
    Connected to the appointments app's post_migrate. Runs queries."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.using(using).get_or_create(name=PATIENT_SERVICE_GROUP)
    permissions = Permission.objects.using(using).filter(
        content_type__app_label=app_config.label
    ) | Permission.objects.using(using).filter(
        content_type__app_label="directory", codename__in=PATIENT_SERVICE_DIRECTORY
    )
    group.permissions.add(*permissions)
