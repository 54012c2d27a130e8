"""The inbox of appointment requests and where listings' requests go. Only staff given the
appointment-request permissions see either."""

import logging

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from appointments import conversation, recipients, reminders, weekly_link
from appointments.models import Answer, AppointmentRequest, Booking, RecipientChange
from core.admin import GuardedLookups, LoggedChanges
from directory.admin import WeeklyTemplateAdmin

logger = logging.getLogger(__name__)


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


class FollowUpFilter(admin.SimpleListFilter):
    """Requests the practice has left unanswered (appointments/reminders.py): the patient
    service's list is "Waiting for the patient service"."""

    title = _("follow-up")
    parameter_name = "follow_up"

    def lookups(self, request, model_admin):
        return [
            ("service", _("Waiting for the patient service")),
            ("reminded", _("Practice reminded")),
        ]

    def queryset(self, request, queryset):
        if self.value() in {"service", "reminded"}:
            return follow_ups(queryset, self.value())
        return queryset


def follow_ups(queryset, which: str):
    """The requests no practice has answered: passed to the patient service ("service"), or
    with the practice reminded and not yet passed on ("reminded")."""
    answered = Answer.objects.filter(side=Answer.Side.PRACTICE).values("request")
    waiting = queryset.filter(status__in=reminders.WAITING).exclude(pk__in=answered)
    if which == "service":
        return waiting.filter(escalated_at__isnull=False)
    return waiting.filter(reminded_at__isnull=False, escalated_at__isnull=True)


class AnswerInline(admin.TabularInline):
    """The conversation after the request, read-only: it is written through the links."""

    model = Answer
    extra = 0
    can_delete = False
    fields = ["created", "side", "kind", "times", "text", "colleague", "notified_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        # Whoever may read the request reads what was answered to it.
        return request.user.has_perm("appointments.view_appointmentrequest")


@admin.register(AppointmentRequest)
class AppointmentRequestAdmin(GuardedLookups, LoggedChanges, admin.ModelAdmin):
    """The inbox. Only staff with the model's permissions see it; the Editors group does not
    get them (AppointmentsConfig grants nothing to them). What patients wrote cannot be edited;
    staff change the status only."""

    list_display = ["__str__", "created", "target_link", "name", "status", "emails_sent"]
    list_filter = ["status", "kind", FollowUpFilter, SentFilter, "created"]
    search_fields = ["name", "email", "specialist__family_name", "clinic__name"]
    list_select_related = ["specialist", "clinic"]
    date_hierarchy = "created"
    actions = [
        "mark_forwarded",
        "mark_closed",
        "revoke_practice_links",
        "revoke_patient_links",
        "send_practice_link",
        "send_patient_link",
    ]
    inlines = [AnswerInline]
    fields = [
        "status",
        ("specialist", "clinic"),
        ("kind", "condition"),
        ("name", "email", "phone"),
        ("residence", "insurance_status", "interpreter", "travel_from", "travel_until"),
        "message",
        "preferred_language",
        ("created", "consent_at", "site_language"),
        ("recipient", "practice_notified_at", "patient_notified_at", "failed_attempts"),
        ("read_at", "reminded_at", "escalated_at"),
        ("step", "practice_links", "patient_links"),
        "sent_with",
    ]
    readonly_fields = [
        "sent_with",
        "kind",
        "condition",
        "residence",
        "insurance_status",
        "interpreter",
        "travel_from",
        "travel_until",
        "reminded_at",
        "escalated_at",
        "read_at",
        "step",
        "practice_links",
        "patient_links",
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

    @admin.display(description=_("sent together with"))
    def sent_with(self, obj: AppointmentRequest) -> str:
        """The other requests of a second opinion sent to several specialists, linked."""
        others = [each for each in obj.sent_together() if each.pk != obj.pk]
        if not others:
            return "–"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> ({})',
            (
                (
                    reverse("admin:appointments_appointmentrequest_change", args=[each.pk]),
                    str(each),
                    str(each.target),
                )
                for each in others
            ),
        )

    @admin.display(description=_("emails sent"), boolean=True)
    def emails_sent(self, obj: AppointmentRequest) -> bool:
        return obj.practice_notified_at is not None and obj.patient_notified_at is not None

    @admin.action(description=_("Mark selected requests as forwarded"), permissions=["change"])
    def mark_forwarded(self, request, queryset):
        self._set(request, queryset, "Forwarded", status=AppointmentRequest.Status.FORWARDED)

    @admin.action(description=_("Mark selected requests as closed"), permissions=["change"])
    def mark_closed(self, request, queryset):
        self._set(request, queryset, "Closed", status=AppointmentRequest.Status.CLOSED)

    @admin.action(
        description=_("Revoke the practice's links (after a link leaked)"), permissions=["change"]
    )
    def revoke_practice_links(self, request, queryset):
        self._revoke(request, queryset, conversation.Side.PRACTICE, "Practice's links revoked.")

    @admin.action(
        description=_("Revoke the patient's links (after a link leaked)"), permissions=["change"]
    )
    def revoke_patient_links(self, request, queryset):
        self._revoke(request, queryset, conversation.Side.PATIENT, "Patient's links revoked.")

    @admin.action(description=_("Send the practice a new link"), permissions=["change"])
    def send_practice_link(self, request, queryset):
        self._send(request, queryset, conversation.Side.PRACTICE)

    @admin.action(description=_("Send the patient a new link"), permissions=["change"])
    def send_patient_link(self, request, queryset):
        self._send(request, queryset, conversation.Side.PATIENT)

    def _revoke(self, request, queryset, side: str, message: str) -> None:
        chosen = list(queryset)
        revoked = {}
        for appointment in chosen:
            conversation.revoke(appointment, side)
            # The patient's links of requests sent together are revoked together.
            affected = [appointment]
            if side == conversation.Side.PATIENT:
                affected = appointment.sent_together()
            revoked.update((each.pk, each) for each in affected)
        for appointment in revoked.values():
            self.log_change(request, appointment, message)
        chosen = list(revoked)
        self.message_user(
            request,
            ngettext(
                "The links of %(count)d request were revoked.",
                "The links of %(count)d requests were revoked.",
                len(chosen),
            )
            % {"count": len(chosen)},
            messages.SUCCESS,
        )

    def _send(self, request, queryset, side: str) -> None:
        sent = failed = 0
        for appointment in queryset.select_related("specialist", "clinic"):
            try:
                conversation.send_link(appointment, side)
            except Exception as error:  # the mail server: staff can try again
                logger.warning(
                    "Appointment request %s: new link not sent (%s).",
                    appointment.pk,
                    type(error).__name__,
                )
                failed += 1
            else:
                sent += 1
        self.message_user(
            request,
            ngettext("%(count)d new link sent.", "%(count)d new links sent.", sent)
            % {"count": sent},
            messages.SUCCESS if sent else messages.WARNING,
        )
        if failed:
            self.message_user(
                request,
                ngettext(
                    "%(count)d link could not be sent; please try again later.",
                    "%(count)d links could not be sent; please try again later.",
                    failed,
                )
                % {"count": failed},
                messages.ERROR,
            )


@admin.register(RecipientChange)
class RecipientChangeAdmin(GuardedLookups, admin.ModelAdmin):
    """Where listings' requests go: changes waiting for approval first. Staff with the
    appointment-request permission approve or reject them; the rest is read-only history."""

    list_display = [
        "listing_name",
        "purpose",
        "email",
        "state",
        "requested_by",
        "requested_at",
        "confirmed_at",
    ]
    list_filter = ["state", "purpose", "requested_at"]
    search_fields = ["email", "specialist__family_name", "clinic__name"]
    list_select_related = ["specialist", "clinic", "requested_by"]
    actions = ["approve", "reject", "send_link_again"]
    readonly_fields = [
        "specialist",
        "clinic",
        "purpose",
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


@admin.register(Booking)
class BookingAdmin(GuardedLookups, admin.ModelAdmin):
    """The bookings of free slots. Health data, as requests are: only staff with the booking
    permissions see them (the Patient service group has them, the Editors group does not).
    Read-only: bookings are made, confirmed and cancelled by patients through their links."""

    list_display = ["__str__", "created", "start", "target_name", "name", "status"]
    list_filter = ["status", "created", "start"]
    search_fields = ["name", "email", "specialist__family_name", "clinic__name"]
    list_select_related = ["specialist", "clinic"]
    date_hierarchy = "start"
    fields = [
        "status",
        ("specialist", "clinic"),
        ("start", "end"),
        "address",
        ("name", "email", "phone"),
        "reason",
        "preferred_language",
        ("created", "consent_at", "site_language"),
        ("hold_until", "confirmed_at", "cancelled_at"),
        "recipient",
        ("link_sent_at", "practice_notified_at", "patient_notified_at", "cancel_notified_at"),
        "failed_attempts",
        "slot",
    ]
    readonly_fields = [
        name for group in fields for name in (group if isinstance(group, tuple) else (group,))
    ]

    def has_add_permission(self, request) -> bool:
        return False  # bookings come from patients only

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the links change them; staff read them

    @admin.display(description=_("with"))
    def target_name(self, obj: Booking) -> str:
        return str(obj.target)


def dashboard_entries() -> list:
    """The requests' entries of the dashboard (core/dashboard.py): only for staff who may read
    requests."""
    from core.dashboard import Entry

    requests = AppointmentRequest.objects.all()
    return [
        Entry(
            _("Requests waiting for the patient service (no answer after four working days)"),
            "appointments.view_appointmentrequest",
            lambda: follow_ups(requests, "service").count(),
            "admin:appointments_appointmentrequest_changelist",
            "follow_up=service",
        ),
        Entry(
            _("Requests not answered within two working days (practice reminded)"),
            "appointments.view_appointmentrequest",
            lambda: follow_ups(requests, "reminded").count(),
            "admin:appointments_appointmentrequest_changelist",
            "follow_up=reminded",
        ),
    ]


# --- The practice's link to its weekly times (appointments/weekly_link.py) ---------------------
# The weekly times' admin is the directory's (directory.admin.WeeklyTemplateAdmin); the directory
# must not import this app, so the actions that mail the practice its link are added here.


@admin.action(
    description=_("Mail the practice a link to enter these times"), permissions=["change"]
)
def send_weekly_times_link(modeladmin, request, queryset):
    sent, missing, failed = 0, [], 0
    for template in queryset.select_related(
        "affiliation__specialist", "affiliation__clinic", "location__clinic"
    ):
        try:
            if weekly_link.send(template):
                sent += 1
                modeladmin.log_change(request, template, "Link to the weekly times mailed.")
            else:
                missing.append(str(template.listing))
        except Exception as error:  # any backend failure: the editor can try again
            logger.warning(
                "Weekly times %s: sending the link failed (%s).", template.pk, type(error).__name__
            )
            failed += 1
    if sent:
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d link mailed to the practice's confirmed address.",
                "%(count)d links mailed to the practices' confirmed addresses.",
                sent,
            )
            % {"count": sent},
            messages.SUCCESS,
        )
    if missing:
        modeladmin.message_user(
            request,
            _(
                "No link sent to %(names)s: no confirmed address for appointment requests. "
                "The patient service can set one."
            )
            % {"names": ", ".join(missing)},
            messages.WARNING,
        )
    if failed:
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d link could not be sent; please try again later.",
                "%(count)d links could not be sent; please try again later.",
                failed,
            )
            % {"count": failed},
            messages.ERROR,
        )


@admin.action(description=_("Withdraw the practice's links to these times"), permissions=["change"])
def revoke_weekly_times_links(modeladmin, request, queryset):
    count = 0
    for template in queryset:
        weekly_link.revoke(template)
        modeladmin.log_change(request, template, "Links to the weekly times withdrawn.")
        count += 1
    modeladmin.message_user(
        request,
        ngettext(
            "The links to %(count)d entry no longer work.",
            "The links to %(count)d entries no longer work.",
            count,
        )
        % {"count": count},
        messages.SUCCESS,
    )


WeeklyTemplateAdmin.actions = [
    *WeeklyTemplateAdmin.actions,
    send_weekly_times_link,
    revoke_weekly_times_links,
]
