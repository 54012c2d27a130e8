"""Appointment requests: the form, the per-client rate limit, and the emails that go after the
request is safely stored (SPEC section 12).

Requests are health data. Nothing here logs what a patient wrote: log lines name the request's
number and the kind of failure only.
"""

import hashlib
import ipaddress
import logging

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.db import DatabaseError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from directory.models import (
    LANGUAGE_CODES,
    AppointmentRequest,
    Clinic,
    Specialist,
    Status,
    language_name,
)

logger = logging.getLogger(__name__)

# Practices in Germany, Austria and Switzerland get their notification in German.
PRACTICE_LANGUAGE = "de"
RATE_LIMIT_WINDOW = 60 * 60
# failed_attempts stops counting here (a small integer column); retries go on regardless.
MAX_COUNTED_ATTEMPTS = 9999


class AppointmentRequestForm(forms.ModelForm):
    """What a patient fills in. `leave_empty` is a honeypot: hidden from people and from
    autofill, filled by bots."""

    preferred_language = forms.ChoiceField(label=_("Preferred language for the reply"))
    consent = forms.BooleanField(
        required=True,
        error_messages={"required": _("Please agree, so that we may pass on your request.")},
    )
    leave_empty = forms.CharField(required=False, label=_("Leave this field empty"))

    class Meta:
        model = AppointmentRequest
        fields = ["name", "email", "phone", "message", "preferred_language"]
        widgets = {"message": forms.Textarea(attrs={"rows": 6, "maxlength": 2000})}
        error_messages = {
            "name": {"required": _("Please enter your name.")},
            "email": {
                "required": _("Please enter your email address, so the practice can reply."),
                "invalid": _("Please enter an email address like name@example.org."),
            },
            "message": {"required": _("Please tell the practice what the appointment is for.")},
        }

    def __init__(self, *args, target: Specialist | Clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        codes = [c for c in getattr(target, "languages", []) if c in LANGUAGE_CODES]
        codes = codes or [code for code, _name in settings.LANGUAGES]
        current = translation.get_language()
        self.fields["preferred_language"].choices = sorted(
            ((code, language_name(code)) for code in codes), key=lambda choice: choice[1]
        )
        # The page's language if spoken there; else German, the language of most practices.
        fallback = "de" if "de" in codes else self.fields["preferred_language"].choices[0][0]
        self.fields["preferred_language"].initial = current if current in codes else fallback
        self.fields["consent"].label = consent_text(target)

    @property
    def is_spam(self) -> bool:
        """A filled honeypot: the sender gets the thank-you page, nothing is stored."""
        return bool(self.cleaned_data.get("leave_empty"))

    def save(self, commit: bool = True) -> AppointmentRequest:
        request = super().save(commit=False)
        if isinstance(self.target, Specialist):
            request.specialist = self.target
        else:
            request.clinic = self.target
        request.consent_at = timezone.now()
        request.site_language = translation.get_language() or settings.LANGUAGE_CODE
        if commit:
            request.save()
        return request


def consent_text(target: Specialist | Clinic) -> str:
    days = settings.APPOINTMENT_RETENTION_DAYS
    return _(
        "I agree that Specialist Atlas stores my request and passes it on to %(name)s so that "
        "they can contact me about an appointment. My request may contain information about my "
        "health. It is deleted after %(days)s days, and I can ask for it to be deleted earlier "
        "at any time."
    ) % {"name": str(target), "days": days}


# --- Rate limit ----------------------------------------------------------------------------


def _client_key(request) -> str:
    """The client's address as a cache key: IPv6 by its /64 network (one household or device
    holds many addresses in it), hashed so that no address is kept."""
    address = request.META.get("REMOTE_ADDR") or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        network = address
    else:
        # A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d: limit the IPv4 address.
        ip = getattr(ip, "ipv4_mapped", None) or ip
        network = str(ipaddress.ip_network(f"{ip}/{64 if ip.version == 6 else 32}", strict=False))
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{network}".encode()).hexdigest()[:32]
    return f"ratelimit:appointment:{digest}"


def over_rate_limit(request) -> bool:
    """Count this submission; True when the client has sent more than the allowed number within
    the last window. A fixed window in the cache (atomic add and incr; with Redis, shared by
    every app server)."""
    key = _client_key(request)
    cache.add(key, 0, RATE_LIMIT_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RATE_LIMIT_WINDOW)
        count = 1
    return count > settings.APPOINTMENT_REQUESTS_PER_HOUR


# --- Storing and sending -------------------------------------------------------------------


def submit(form: AppointmentRequestForm) -> AppointmentRequest:
    """Store the request in a transaction; the emails go once it has committed."""
    with transaction.atomic():
        request = form.save()
        transaction.on_commit(lambda: deliver(request.pk), robust=True)
    return request


def recipient_of(request: AppointmentRequest) -> tuple[str, bool]:
    """The address for the practice's notification, and whether it is the practice's own (not
    the site's inbox)."""
    target = request.target
    candidates = [target.email]
    if isinstance(target, Specialist):
        primary = (
            target.affiliations.filter(clinic__status=Status.PUBLISHED)
            .select_related("clinic")
            .order_by("-is_primary", "id")
        )
        candidates += [affiliation.clinic.email for affiliation in primary]
    own = next((address for address in candidates if address), "")
    return (own, True) if own else (settings.APPOINTMENT_INBOX_EMAIL, False)


def _practice_message(request: AppointmentRequest, address: str) -> EmailMessage:
    with translation.override(PRACTICE_LANGUAGE):
        context = {
            "request": request,
            "target": request.target,
            "language": language_name(request.preferred_language),
        }
        subject = render_to_string("directory/email/practice_subject.txt", context).strip()
        body = render_to_string("directory/email/practice.txt", context)
    return EmailMessage(subject, body, to=[address], reply_to=[request.email])


def _patient_message(request: AppointmentRequest) -> EmailMessage:
    language = request.site_language if request.site_language in {"en", "de"} else "en"
    with translation.override(language):
        context = {"request": request, "target": request.target}
        subject = render_to_string("directory/email/patient_subject.txt", context).strip()
        body = render_to_string("directory/email/patient.txt", context)
    return EmailMessage(subject, body, to=[request.email])


class Delivery:
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to send, or another process is sending it right now


def deliver(request_id: int) -> str:
    """Send what has not gone yet for this request: first the practice's notification, then the
    patient's confirmation. A failure is counted and left for `manage.py send_pending_requests`;
    the request itself is never touched otherwise.

    The row stays locked while sending, so a retry running at the same time skips it instead of
    sending twice."""
    with transaction.atomic():
        request = (
            AppointmentRequest.objects.pending()
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("specialist", "clinic")
            .filter(pk=request_id)
            .first()
        )
        if request is None:
            return Delivery.SKIPPED  # sent already, closed, purged, or being sent elsewhere
        now = timezone.now()
        outcome = Delivery.SENT
        try:
            if request.practice_notified_at is None:
                address, own = recipient_of(request)
                _practice_message(request, address).send()
                request.recipient, request.practice_notified_at = address, now
                if own and request.status == AppointmentRequest.Status.NEW:
                    request.status = AppointmentRequest.Status.FORWARDED
            if request.patient_notified_at is None:
                _patient_message(request).send()
                request.patient_notified_at = now
        except Exception as error:  # any backend failure: keep the request for a retry
            request.failed_attempts = min(request.failed_attempts + 1, MAX_COUNTED_ATTEMPTS)
            logger.warning(
                "Appointment request %s: sending failed (%s); it stays pending.",
                request.pk,
                type(error).__name__,
            )
            outcome = Delivery.FAILED
        request.save(
            update_fields=[
                "recipient",
                "practice_notified_at",
                "patient_notified_at",
                "status",
                "failed_attempts",
            ]
        )
    return outcome


def send_pending() -> tuple[int, int]:
    """Retry every pending request, oldest first; returns (sent, failed). One request's
    failure, even a database error, does not stop the others."""
    sent = failed = 0
    for pk in AppointmentRequest.objects.pending().order_by("created").values_list("pk", flat=True):
        try:
            outcome = deliver(pk)
        except DatabaseError as error:
            logger.warning("Appointment request %s: not retried (%s).", pk, type(error).__name__)
            outcome = Delivery.FAILED
        sent += outcome == Delivery.SENT
        failed += outcome == Delivery.FAILED
    return sent, failed


def purge(now=None) -> int:
    """Delete the requests older than APPOINTMENT_RETENTION_DAYS; returns how many."""
    expired = AppointmentRequest.objects.expired(settings.APPOINTMENT_RETENTION_DAYS, now)
    count, _by_model = expired.delete()
    return count
