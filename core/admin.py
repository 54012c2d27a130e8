"""Pieces every app's admin shares."""

from django.contrib import messages
from django.db.models import QuerySet
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
