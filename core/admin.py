"""Pieces every app's admin shares."""

from django.contrib import messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.utils.translation import ngettext


class LoggedChanges:
    """For admin actions that set fields on many entries: one save each (so signals, history
    and `modified` see every change), logged in the entry's history and counted."""

    def _set(self, request, queryset: QuerySet, message: str, **values) -> None:
        count = 0
        for obj in queryset:
            for name, value in values.items():
                setattr(obj, name, value)
            obj.save(update_fields=list(values))
            self.log_change(request, obj, message)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d entry changed.", "%(count)d entries changed.", count)
            % {"count": count},
            messages.SUCCESS,
        )


class GuardedLookups:
    """Filters in an admin list's URL may not reach into a model the user may not view: an
    editor must not learn from `?appointment_requests__isnull=False` which listings received
    appointment requests. Mixed into every ModelAdmin of the project; such a lookup answers 400
    (Django's DisallowedModelAdminLookup)."""

    def lookup_allowed(self, lookup, value, request=None):
        if request is not None and reaches_hidden_model(self.model, lookup, request.user):
            return False
        return super().lookup_allowed(lookup, value, request)


def reaches_hidden_model(model, lookup: str, user) -> bool:
    """Whether the lookup path passes through a model `user` has no view permission for."""
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False  # the rest are lookups or transforms (exact, isnull, year ...)
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
        opts = model._meta
        if not user.has_perm(f"{opts.app_label}.{get_permission_codename('view', opts)}"):
            return True
    return False
