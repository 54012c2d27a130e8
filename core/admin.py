"""Pieces every app's admin shares."""

from datetime import datetime

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core import revisions
from core.models import Revision


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


class RevisionAdmin:
    """Drafts of a live entry's text (core/revisions.py), for a ModelAdmin: on a live entry the
    change form has "Save as draft revision", which keeps the text fields (`revisable_fields`)
    as the entry's draft and saves anything else as usual, so the live text stays online. While
    a draft waits, the form shows it (a plain "Save" then publishes it), and the entry's
    "Revisions" page compares it side by side with the live text, publishes it now or at a set
    time, or discards it; it lists the published revisions, each compared with the text it
    replaced, with a revert."""

    revisable_fields: list[str] = []
    change_form_template = "admin/revisions/change_form.html"

    def is_live(self, obj) -> bool:
        return getattr(obj, "status", "") == "published"

    # --- the change form

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and request.method == "GET":
            draft = revisions.pending(obj)
            if draft is not None:
                revisions.apply(obj, draft)  # the form shows the draft
        return obj

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self._entry(object_id)
        if obj is not None:
            extra_context.update(
                revision=revisions.pending(obj),
                revisable=self.is_live(obj) and self.has_change_permission(request, obj),
                revisions_url=self._url("revisions", obj.pk),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if change and "_save_revision" in request.POST:
            live = self.model._default_manager.get(pk=obj.pk)
            values = {name: getattr(obj, name) or "" for name in self.revisable_fields}
            request.saved_revision = revisions.save_draft(obj, values, request.user)
            for name in self.revisable_fields:  # the live text stays as it is
                setattr(obj, name, getattr(live, name))
            if set(form.changed_data) - set(self.revisable_fields):
                super().save_model(request, obj, form, change)
            return
        draft = revisions.pending(obj) if change else None
        before = None
        if draft is not None:
            live = self.model._default_manager.get(pk=obj.pk)
            before = revisions.live_values(live, self.revisable_fields)
        super().save_model(request, obj, form, change)
        if draft is not None:  # saved from the form that showed it: what it saved is live now
            after = revisions.live_values(obj, self.revisable_fields)
            revisions.settle(draft, before, after, request.user)

    def response_change(self, request, obj):
        draft = getattr(request, "saved_revision", None)
        if draft is None:
            return super().response_change(request, obj)
        self.log_change(request, obj, f"Draft revision no. {draft.pk} saved.")
        self.message_user(
            request,
            _(
                "Saved as draft revision no. %(number)s: the live version stays online. Preview, "
                "compare and publish it here."
            )
            % {"number": draft.pk},
            messages.SUCCESS,
        )
        return redirect(self._url("revisions", obj.pk))

    # --- the revisions page

    def get_urls(self):
        view = self.admin_site.admin_view(self.revisions_view)
        own = [path("<path:object_id>/revisions/", view, name=self._url_name("revisions"))]
        return own + super().get_urls()

    def _url_name(self, what: str) -> str:
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}_{what}"

    def _url(self, what: str, pk) -> str:
        return reverse(f"admin:{self._url_name(what)}", args=[pk])

    def _entry(self, object_id):
        number = str(object_id or "")
        if not number.isdigit() or len(number) > 18:
            return None
        return self.model._default_manager.filter(pk=int(number)).first()

    def revisions_view(self, request, object_id):
        obj = self._entry(object_id)
        if obj is None:
            raise Http404
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        error = ""
        if request.method == "POST":
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
            error = self._act(request, obj)
            if not error:
                return redirect(request.path)
        draft = revisions.pending(obj)
        labels = {
            name: str(self.model._meta.get_field(name).verbose_name)
            for name in self.revisable_fields
        }
        live = revisions.live_values(obj, self.revisable_fields)
        changes = []
        if draft is not None:
            changes = revisions.comparison(live, draft.data, labels, (_("Live"), _("Draft")))
        history = [
            (
                past,
                revisions.comparison(past.replaced, past.data, labels, (_("Before"), _("After"))),
            )
            for past in revisions.history(obj)
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": obj,
            "title": _("Revisions of “%(entry)s”") % {"entry": obj},
            "draft": draft,
            "error": error,
            "preview_url": f"{obj.get_absolute_url()}?revision={draft.pk}" if draft else "",
            "draft_changes": changes,
            "history": history,
            "may_change": self.has_change_permission(request, obj),
            "change_url": self._url("change", obj.pk),
        }
        status = 400 if error else 200
        return TemplateResponse(request, "admin/revisions/revisions.html", context, status=status)

    def _act(self, request, obj) -> str:
        """Do what the revisions page asked; "" when done, else why not."""
        action, number = request.POST.get("action", ""), request.POST.get("revision", "")
        chosen = None
        if number.isdigit() and len(number) <= 18:
            chosen = revisions.of(obj).filter(pk=int(number)).first()
        if chosen is None:
            return _("This revision does not belong to this entry.")
        done = ""
        try:
            published = action == "publish" and revisions.publish(chosen, request.user)
        except revisions.ConflictError as conflict:
            labels = [
                str(self.model._meta.get_field(name).verbose_name) for name in conflict.fields
            ]
            return _(
                "The live text of %(fields)s changed after this draft was saved: publishing it "
                "would undo that change. Open the draft, check it against the live text and save "
                "it again."
            ) % {"fields": ", ".join(labels)}
        if published:
            done = _("Published: the site shows the new text now.")
        elif action == "schedule":
            when = _local_datetime(request.POST.get("publish_at", ""))
            if when is None or when <= timezone.now():
                return _("Please give a date and time in the future, such as 2027-03-04 09:30.")
            if revisions.schedule(chosen, when):
                done = _("Scheduled.")
        elif action == "unschedule" and revisions.schedule(chosen, None):
            done = _("No longer scheduled.")
        elif action == "discard" and revisions.discard(chosen):
            done = _("The draft was discarded.")
        elif action == "revert" and chosen.state == Revision.State.PUBLISHED:
            revisions.revert(chosen, request.user)
            done = _("The text before revision no. %(number)s is the draft now: publish it.") % {
                "number": chosen.pk
            }
        if not done:
            return _("This revision has been published or discarded meanwhile.")
        self.log_change(request, obj, f"Revision no. {chosen.pk}: {action}.")
        self.message_user(request, done, messages.SUCCESS)
        return ""


def _local_datetime(value: str):
    """A datetime-local input's value in the site's time zone, or None."""
    for pattern in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"):
        try:
            moment = datetime.strptime(value.strip(), pattern)  # noqa: DTZ007 - made aware below
        except ValueError:
            continue
        return timezone.make_aware(moment) if 2000 <= moment.year <= 2100 else None
    return None


@admin.register(Revision)
class RevisionListAdmin(admin.ModelAdmin):
    """Every draft and published revision, read only: each links to its entry's revisions
    page, where it is previewed, published, scheduled, discarded or reverted."""

    list_display = ["__str__", "entry", "state", "author", "modified", "publish_at"]
    list_filter = ["state", "content_type"]
    list_select_related = ["content_type", "author"]
    ordering = ["-modified"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("entry"))
    def entry(self, revision: Revision) -> str:
        model = revision.content_type.model_class()
        if model is None:
            return "–"
        opts = model._meta
        name = f"admin:{opts.app_label}_{opts.model_name}_revisions"
        label = _("%(kind)s no. %(number)s") % {
            "kind": opts.verbose_name,
            "number": revision.object_id,
        }
        return format_html('<a href="{}">{}</a>', reverse(name, args=[revision.object_id]), label)


def revision_dashboard_entries() -> list:
    from core.dashboard import Entry

    return [
        Entry(
            gettext_lazy("Draft revisions waiting to be published"),
            "core.view_revision",
            lambda: Revision.objects.filter(state=Revision.State.PENDING).count(),
            "admin:core_revision_changelist",
            "state__exact=pending",
        )
    ]
