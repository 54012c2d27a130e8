"""Appointment requests: what a patient sends to a specialist or a clinic, and where it goes."""

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Clinic, Condition, Specialist


class AppointmentRequestQuerySet(models.QuerySet):
    UNSENT = models.Q(practice_notified_at__isnull=True) | models.Q(
        patient_notified_at__isnull=True
    )

    def pending(self):
        """Requests with an email still to send (the practice's or the patient's), for
        `manage.py send_pending_requests`. Closed requests are left alone."""
        return self.exclude(status=AppointmentRequest.Status.CLOSED).filter(self.UNSENT)

    def expired(self, days: int, now=None):
        """Requests older than the retention period."""
        return self.filter(created__lt=(now or timezone.now()) - timedelta(days=days))


class AppointmentRequest(models.Model):
    """A patient's request for an appointment, to a specialist or a clinic.

    Health data (GDPR art. 9): only what the practice needs to answer, visible only to staff with
    the permission, never logged, deleted after APPOINTMENT_RETENTION_DAYS. Saved before any
    email is tried; the emails go after the commit and are retried until they have gone.
    """

    class Status(models.TextChoices):
        NEW = "new", _("New")
        FORWARDED = "forwarded", _("Sent to the practice")
        READ = "read", _("Read by the practice")
        ANSWERED = "answered", _("Answered by the practice")
        REPLIED = "replied", _("Answered by the patient")
        AGREED = "agreed", _("Appointment agreed")
        DECLINED = "declined", _("Declined by the practice")
        CLOSED = "closed", _("Closed")

    specialist = models.ForeignKey(
        Specialist,
        verbose_name=_("specialist"),
        null=True,
        blank=True,
        # Nothing is lost: a listing with requests is archived, not deleted, until they are
        # purged.
        on_delete=models.PROTECT,
        related_name="appointment_requests",
    )
    clinic = models.ForeignKey(
        Clinic,
        verbose_name=_("clinic"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointment_requests",
    )

    class Kind(models.TextChoices):
        APPOINTMENT = "appointment", _("Appointment")
        SECOND_OPINION = "second-opinion", _("Second opinion")
        COST_ESTIMATE = "cost-estimate", _("Cost estimate")

    class InsuranceStatus(models.TextChoices):
        STATUTORY = "statutory", _("Statutory health insurance")
        PRIVATE = "private", _("Private health insurance")
        SELF_PAY = "self_pay", _("I pay myself")
        ABROAD = "abroad", _("Insured in another country")

    kind = models.CharField(
        _("kind of request"), max_length=16, choices=Kind.choices, default=Kind.APPOINTMENT
    )
    condition = models.ForeignKey(
        Condition,
        verbose_name=_("condition or treatment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    residence = models.CharField(_("country of residence"), max_length=2, blank=True)
    insurance_status = models.CharField(
        _("insurance"), max_length=10, choices=InsuranceStatus.choices, blank=True
    )
    interpreter = models.CharField(
        _("interpreter needed for"),
        max_length=2,
        blank=True,
        help_text=_("A language code; empty: no interpreter needed."),
    )
    travel_from = models.DateField(_("travelling from"), null=True, blank=True)
    travel_until = models.DateField(_("travelling until"), null=True, blank=True)
    name = models.CharField(_("your name"), max_length=120)
    email = models.EmailField(_("email address"))
    phone = models.CharField(_("phone (optional)"), max_length=40, blank=True)
    message = models.TextField(
        _("message"),
        max_length=2000,
        help_text=_(
            "What the appointment is for and when you could come. Please give only the medical "
            "details the practice needs to find the right appointment."
        ),
    )
    preferred_language = models.CharField(_("preferred language"), max_length=2)
    site_language = models.CharField(_("language of the site"), max_length=2, editable=False)
    consent_at = models.DateTimeField(_("consent given"), editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW
    )
    created = models.DateTimeField(_("received"), default=timezone.now, editable=False)
    recipient = models.EmailField(
        _("sent to"),
        blank=True,
        editable=False,
        help_text=_("The practice's address, or the site's inbox when the listing has none."),
    )
    practice_notified_at = models.DateTimeField(
        _("practice notified"), null=True, blank=True, editable=False
    )
    patient_notified_at = models.DateTimeField(
        _("confirmation sent"), null=True, blank=True, editable=False
    )
    failed_attempts = models.PositiveSmallIntegerField(
        _("failed sending attempts"), default=0, editable=False
    )
    read_at = models.DateTimeField(_("read by the practice"), null=True, blank=True, editable=False)
    # Follow-ups of a request the practice has not answered (appointments/reminders.py).
    reminded_at = models.DateTimeField(
        _("practice reminded"), null=True, blank=True, editable=False
    )
    escalated_at = models.DateTimeField(
        _("passed to the patient service"), null=True, blank=True, editable=False
    )
    # The conversation (appointments/conversation.py): each answer moves `step` on, and a link
    # acts only at the step it was sent at, so every link works once. Revoking a side's links
    # moves its version on.
    step = models.PositiveIntegerField(_("answers so far"), default=0, editable=False)
    practice_links = models.PositiveSmallIntegerField(
        _("practice's links revoked"), default=0, editable=False
    )
    patient_links = models.PositiveSmallIntegerField(
        _("patient's links revoked"), default=0, editable=False
    )
    # A second opinion sent to several specialists at once (up to SECOND_OPINION_RECIPIENTS):
    # one request each, sharing this value. Each practice answers its own; the patient's page
    # shows the answers side by side, and the patient's links open all of them.
    together = models.UUIDField(
        _("sent together"), null=True, blank=True, editable=False, db_index=True
    )

    objects = AppointmentRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("appointment request")
        verbose_name_plural = _("appointment requests")
        ordering = ["-created"]
        db_table = "directory_appointmentrequest"  # created by the directory app, moved here
        constraints = [
            models.CheckConstraint(
                condition=models.Q(specialist__isnull=False, clinic__isnull=True)
                | models.Q(specialist__isnull=True, clinic__isnull=False),
                name="appointment_request_one_target",
            )
        ]
        indexes = [
            # The inbox (newest first, by status) and purge_requests (oldest).
            models.Index(fields=["status", "created"], name="appointment_status_created_idx"),
            models.Index(fields=["created"], name="appointment_created_idx"),
        ]

    def __str__(self) -> str:
        # Shown in admin history and messages: no personal data.
        return _("Request no. %(number)s") % {"number": self.pk}

    @property
    def target(self) -> "Specialist | Clinic":
        return self.specialist or self.clinic

    def sent_together(self) -> list["AppointmentRequest"]:
        """The requests sent with this one, itself included, in the order they were made (the
        first one is the patient's confirmation's); [self] when it was sent alone."""
        if self.together is None:
            return [self]
        return list(
            AppointmentRequest.objects.filter(together=self.together)
            .select_related("specialist", "clinic")
            .order_by("id")
        )


class Answer(models.Model):
    """One step of the conversation about a request: the practice proposes dates, asks for more
    information or declines; the patient accepts a date or replies. Health data: deleted with
    its request, never logged, and mailed to nobody (the emails carry links only)."""

    class Side(models.TextChoices):
        PRACTICE = "practice", _("Practice")
        PATIENT = "patient", _("Patient")

    class Kind(models.TextChoices):
        PROPOSAL = "proposal", _("Proposed dates")
        QUESTION = "question", _("Asked for more information")
        DECLINE = "decline", _("Declined")
        ACCEPT = "accept", _("Accepted a date")
        REPLY = "reply", _("Replied")

    request = models.ForeignKey(
        AppointmentRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="answers",
    )
    side = models.CharField(_("from"), max_length=8, choices=Side.choices)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    text = models.TextField(_("text"), max_length=2000, blank=True)
    times = ArrayField(
        models.DateTimeField(), verbose_name=_("dates and times"), size=3, default=list, blank=True
    )
    colleague = models.ForeignKey(
        Specialist,
        verbose_name=_("colleague suggested"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created = models.DateTimeField(_("sent"), default=timezone.now)
    # When the other side was told by email (None: not yet; send_pending_requests retries).
    notified_at = models.DateTimeField(_("other side told"), null=True, blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = ["created", "id"]
        indexes = [
            models.Index(
                fields=["created"],
                condition=models.Q(notified_at__isnull=True),
                name="answer_unnotified_idx",
            )
        ]

    def __str__(self) -> str:
        # No content: shown in admin history.
        return _("Answer no. %(number)s") % {"number": self.pk}


class RecipientChangeQuerySet(models.QuerySet):
    def of(self, listing: "Specialist | Clinic", purpose: str = "requests"):
        """The changes of a listing's address for `purpose`: its requests, or (clinics) those
        from patients abroad, which go to its international office."""
        field = "specialist" if isinstance(listing, Specialist) else "clinic"
        return self.filter(**{field: listing}, purpose=purpose)

    def open(self):
        """Changes still waiting for an approval or for the address's confirmation."""
        return self.filter(
            state__in=[
                RecipientChange.State.AWAITING_APPROVAL,
                RecipientChange.State.AWAITING_CONFIRMATION,
            ]
        )

    def in_force(self):
        return self.filter(state=RecipientChange.State.CONFIRMED)


class RecipientChange(models.Model):
    """Where a listing's appointment requests go, and every change of it.

    Requests carry health data, so an address receives them only once (1) staff with the
    appointment-request permission have approved it (a change they make themselves needs no
    second approval) and (2) its owner has confirmed it through a signed link sent to it. Until
    then the listing's requests go where they went before: the confirmed address, or the site's
    inbox. The confirmed change of a listing is the one in force; the ones before it are kept,
    superseded, as its history.
    """

    class State(models.TextChoices):
        AWAITING_APPROVAL = "approval", _("Waiting for approval")
        AWAITING_CONFIRMATION = "confirmation", _("Waiting for the address's confirmation")
        CONFIRMED = "confirmed", _("In force")
        SUPERSEDED = "superseded", _("Replaced by a later address")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    specialist = models.ForeignKey(
        Specialist,
        verbose_name=_("specialist"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="recipient_changes",
    )
    clinic = models.ForeignKey(
        Clinic,
        verbose_name=_("clinic"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="recipient_changes",
    )

    class Purpose(models.TextChoices):
        REQUESTS = "requests", _("Appointment requests")
        INTERNATIONAL = "international", _("Requests from abroad (international office)")

    purpose = models.CharField(
        _("for"), max_length=13, choices=Purpose.choices, default=Purpose.REQUESTS
    )
    email = models.EmailField(_("address"), blank=True, help_text=_("Empty: to the site's inbox."))
    state = models.CharField(_("state"), max_length=12, choices=State.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty: an import or another command."),
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(_("confirmation link sent"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed by the address"), null=True, blank=True)
    closed_at = models.DateTimeField(_("superseded, rejected or withdrawn"), null=True, blank=True)

    objects = RecipientChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("request address")
        verbose_name_plural = _("request addresses")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(specialist__isnull=False, clinic__isnull=True)
                | models.Q(specialist__isnull=True, clinic__isnull=False),
                name="recipient_change_one_listing",
            ),
            # At most one address in force per listing and purpose.
            models.UniqueConstraint(
                fields=["specialist", "purpose"],
                condition=models.Q(state="confirmed"),
                name="recipient_in_force_per_specialist",
            ),
            models.UniqueConstraint(
                fields=["clinic", "purpose"],
                condition=models.Q(state="confirmed"),
                name="recipient_in_force_per_clinic",
            ),
        ]
        indexes = [
            # The approval queue in admin.
            models.Index(fields=["state", "requested_at"], name="recipient_state_idx"),
        ]

    def __str__(self) -> str:
        return _("%(address)s for %(listing)s") % {
            "address": self.email or _("the site's inbox"),
            "listing": self.listing,
        }

    @property
    def listing(self) -> "Specialist | Clinic":
        return self.specialist or self.clinic


class BookingQuerySet(models.QuerySet):
    def expired(self, days: int, now=None):
        """Bookings made, and for appointments that ended, before the retention period (an
        appointment booked far ahead is kept until it is over)."""
        cutoff = (now or timezone.now()) - timedelta(days=days)
        return self.filter(created__lt=cutoff, end__lt=cutoff)

    def holds_run_out(self, now=None):
        """Held bookings whose minutes to confirm have passed."""
        return self.filter(status=Booking.Status.HELD, hold_until__lte=now or timezone.now())


class Booking(models.Model):
    """A patient's booking of a free slot (directory.Slot), without an account.

    The patient gives name, email, phone and the reason; the slot is then held for
    BOOKING_HOLD_MINUTES while the link emailed to the patient waits to be used, and only that
    link books it. At most one booking holds or has taken a slot: a partial unique constraint
    in PostgreSQL, and the slot's row lock taken before each change (appointments/bookings.py).

    Health data, as requests are: visible only to staff with the permission, never logged,
    never in an email (they carry links), deleted after APPOINTMENT_RETENTION_DAYS. The time,
    place and listing are copied from the slot, so the record survives the slot's deletion (a
    feed that drops it)."""

    class Status(models.TextChoices):
        HELD = "held", _("Held, waiting for the patient's confirmation")
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled by the patient")
        EXPIRED = "expired", _("Not confirmed in time")

    slot = models.ForeignKey(
        "directory.Slot",
        verbose_name=_("slot"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    clinic = models.ForeignKey(
        Clinic, verbose_name=_("clinic"), on_delete=models.PROTECT, related_name="bookings"
    )
    specialist = models.ForeignKey(
        Specialist,
        verbose_name=_("specialist"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
    )
    start = models.DateTimeField(_("appointment"))
    end = models.DateTimeField(_("until"))
    address = models.CharField(_("address"), max_length=400)
    name = models.CharField(_("your name"), max_length=120)
    email = models.EmailField(_("email address"))
    phone = models.CharField(_("phone"), max_length=40)
    reason = models.TextField(
        _("reason for the appointment"),
        max_length=2000,
        help_text=_(
            "Please give only the medical details the practice needs to prepare the appointment."
        ),
    )
    preferred_language = models.CharField(_("preferred language"), max_length=2)
    site_language = models.CharField(_("language of the site"), max_length=2, editable=False)
    consent_at = models.DateTimeField(_("consent given"), editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.HELD
    )
    created = models.DateTimeField(_("received"), default=timezone.now, editable=False)
    hold_until = models.DateTimeField(_("held until"), editable=False)
    confirmed_at = models.DateTimeField(_("booked"), null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True, editable=False)
    recipient = models.EmailField(
        _("practice told at"),
        blank=True,
        editable=False,
        help_text=_("The practice's address, or the site's inbox when the listing has none."),
    )
    # The emails (appointments/bookings.py), each sent once; send_pending_requests retries.
    link_sent_at = models.DateTimeField(
        _("confirmation link sent"), null=True, blank=True, editable=False
    )
    practice_notified_at = models.DateTimeField(
        _("practice notified"), null=True, blank=True, editable=False
    )
    patient_notified_at = models.DateTimeField(
        _("booking confirmed to the patient"), null=True, blank=True, editable=False
    )
    cancel_notified_at = models.DateTimeField(
        _("practice told of the cancellation"), null=True, blank=True, editable=False
    )
    failed_attempts = models.PositiveSmallIntegerField(
        _("failed sending attempts"), default=0, editable=False
    )

    objects = BookingQuerySet.as_manager()

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["-created"]
        constraints = [
            # A slot is held or booked by one booking at most.
            models.UniqueConstraint(
                fields=["slot"],
                condition=models.Q(status__in=["held", "booked"]),
                name="booking_one_per_slot",
            ),
        ]
        indexes = [
            models.Index(fields=["created"], name="booking_created_idx"),
            models.Index(
                fields=["hold_until"],
                condition=models.Q(status="held"),
                name="booking_held_idx",
            ),
        ]

    def __str__(self) -> str:
        # Shown in admin history and messages: no personal data.
        return _("Booking no. %(number)s") % {"number": self.pk}

    @property
    def target(self) -> "Specialist | Clinic":
        return self.specialist or self.clinic
