"""The inbox of appointment requests and where listings' requests go. Only staff given the
appointment-request permissions see either."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from appointments import recipients
from appointments.models import AppointmentRequest, RecipientChange
from core.admin import GuardedLookups, LoggedChanges


class SentFilter(admin.SimpleListFilter):
    """Requests whose emails have not all gone yet (send_pending_requests retries them)."""

    title = _("emails")
    parameter_name = "emails"

    def lookups(self, request, model_admin):
        return [("pending", _("Not sent yet")), ("sent", _("Sent"))]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(queryset.UNSENT)
        if self.value() == "sent":
            return queryset.exclude(queryset.UNSENT)
        return queryset


@admin.register(AppointmentRequest)
class AppointmentRequestAdmin(GuardedLookups, LoggedChanges, admin.ModelAdmin):
    """The inbox. Only staff with the model's permissions see it; the Editors group does not
    get them (AppointmentsConfig grants nothing to them). What patients wrote cannot be edited;
    staff change the status only."""

    list_display = ["__str__", "created", "target_link", "name", "status", "emails_sent"]
    list_filter = ["status", SentFilter, "created"]
    search_fields = ["name", "email", "specialist__family_name", "clinic__name"]
    list_select_related = ["specialist", "clinic"]
    date_hierarchy = "created"
    actions = ["mark_forwarded", "mark_closed"]
    fields = [
        "status",
        ("specialist", "clinic"),
        ("name", "email", "phone"),
        "message",
        "preferred_language",
        ("created", "consent_at", "site_language"),
        ("recipient", "practice_notified_at", "patient_notified_at", "failed_attempts"),
    ]
    readonly_fields = [
        "message",
        "preferred_language",
        "specialist",
        "clinic",
        "name",
        "email",
        "phone",
        "created",
        "consent_at",
        "site_language",
        "recipient",
        "practice_notified_at",
        "patient_notified_at",
        "failed_attempts",
    ]

    def has_add_permission(self, request) -> bool:
        return False  # requests come from patients only

    def save_model(self, request, obj, form, change):
        # Staff change the status only; the sending columns belong to appointments.delivery,
        # which may be updating them at this moment.
        obj.save(update_fields=["status"])

    @admin.display(description=_("to"))
    def target_link(self, obj: AppointmentRequest) -> str:
        return str(obj.target)

    @admin.display(description=_("emails sent"), boolean=True)
    def emails_sent(self, obj: AppointmentRequest) -> bool:
        return obj.practice_notified_at is not None and obj.patient_notified_at is not None

    @admin.action(description=_("Mark selected requests as forwarded"), permissions=["change"])
    def mark_forwarded(self, request, queryset):
        self._set(request, queryset, "Forwarded", status=AppointmentRequest.Status.FORWARDED)

    @admin.action(description=_("Mark selected requests as closed"), permissions=["change"])
    def mark_closed(self, request, queryset):
        self._set(request, queryset, "Closed", status=AppointmentRequest.Status.CLOSED)


@admin.register(RecipientChange)
class RecipientChangeAdmin(GuardedLookups, admin.ModelAdmin):
    """Where listings' requests go: changes waiting for approval first. Staff with the
    appointment-request permission approve or reject them; the rest is read-only history."""

    list_display = [
        "listing_name",
        "email",
        "state",
        "requested_by",
        "requested_at",
        "confirmed_at",
    ]
    list_filter = ["state", "requested_at"]
    search_fields = ["email", "specialist__family_name", "clinic__name"]
    list_select_related = ["specialist", "clinic", "requested_by"]
    actions = ["approve", "reject", "send_link_again"]
    readonly_fields = [
        "specialist",
        "clinic",
        "email",
        "state",
        "requested_by",
        "requested_at",
        "approved_by",
        "approved_at",
        "confirmation_sent_at",
        "confirmed_at",
        "closed_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request) -> bool:
        return False  # changes come from the listings' address field

    def has_change_permission(self, request, obj=None) -> bool:
        return recipients.may_route_requests(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return recipients.may_route_requests(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the history of where requests went stays

    def has_module_permission(self, request) -> bool:
        return recipients.may_route_requests(request.user)

    @admin.display(description=_("listing"))
    def listing_name(self, obj: RecipientChange) -> str:
        return str(obj.listing)

    @admin.action(description=_("Approve and send the confirmation link"), permissions=["change"])
    def approve(self, request, queryset):
        waiting = queryset.filter(state=RecipientChange.State.AWAITING_APPROVAL)
        for change in waiting:
            recipients.approve(change, by=request.user)
        self._report(request, len(waiting))

    @admin.action(description=_("Reject"), permissions=["change"])
    def reject(self, request, queryset):
        open_changes = list(queryset.open())
        for change in open_changes:
            recipients.reject(change, by=request.user)
        self._report(request, len(open_changes))

    @admin.action(description=_("Send the confirmation link again"), permissions=["change"])
    def send_link_again(self, request, queryset):
        waiting = list(queryset.filter(state=RecipientChange.State.AWAITING_CONFIRMATION))
        for change in waiting:
            recipients.send_confirmation(change.pk)
        self._report(request, len(waiting))

    def _report(self, request, count: int) -> None:
        self.message_user(
            request,
            ngettext("%(count)d change handled.", "%(count)d changes handled.", count)
            % {"count": count},
            messages.SUCCESS,
        )
