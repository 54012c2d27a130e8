"""The inbox of appointment requests. Only staff given the permissions see it."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from appointments.models import AppointmentRequest
from core.admin import LoggedChanges


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
class AppointmentRequestAdmin(LoggedChanges, admin.ModelAdmin):
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
