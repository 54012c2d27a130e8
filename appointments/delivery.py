"""Storing a request and the emails that go after it is safely stored: the
practice's notification and the patient's confirmation, retried until they have gone, and the
purge after the retention period.

Requests are health data. Nothing here logs what a patient wrote: log lines name the request's
number and the kind of failure only.
"""

import logging
import threading
import uuid
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from appointments import conversation, recipients
from appointments.forms import AppointmentRequestForm
from appointments.models import Answer, AppointmentRequest

logger = logging.getLogger(__name__)

Status = AppointmentRequest.Status

# failed_attempts stops counting here (a small integer column); retries go on regardless.
MAX_COUNTED_ATTEMPTS = 9999


# What the further recipients of a second opinion get of the patient's request: all of it.
SHARED_FIELDS = [
    "kind",
    "condition",
    "residence",
    "insurance_status",
    "interpreter",
    "travel_from",
    "travel_until",
    "name",
    "email",
    "phone",
    "message",
    "preferred_language",
    "site_language",
    "consent_at",
    "created",
]


def submit(form: AppointmentRequestForm) -> AppointmentRequest:
    """Store the request in a transaction, with its recipient fixed now (no later change of the
    listing's address reroutes it): for a patient living in another country than the practice,
    the clinic's international office when it has a confirmed one. A second opinion for several
    specialists (`form.together`) becomes one request each, sent together. The emails go once
    it has committed. Returns the (first) request."""
    with transaction.atomic():
        request = form.save(commit=False)
        made = [request]
        if form.together:
            request.together = uuid.uuid4()
            for person in form.together:
                shared = {name: getattr(request, name) for name in SHARED_FIELDS}
                made.append(
                    AppointmentRequest(specialist=person, together=request.together, **shared)
                )
        for each in made:
            _route(each)
            each.save()
            transaction.on_commit(partial(deliver_soon, each.pk), robust=True)
    return request


def _route(request: AppointmentRequest) -> None:
    abroad = bool(request.residence) and request.residence != recipients.practice_country(
        request.target
    )
    request.recipient, _own = recipients.recipient_for(request.target, abroad=abroad)


def deliver_soon(request_id: int) -> threading.Thread | None:
    """Send the request's emails outside the patient's request (see run_soon)."""
    return run_soon(deliver, request_id, f"deliver-{request_id}")


def run_soon(send, pk: int, name: str) -> threading.Thread | None:
    """Run `send(pk)` outside the visitor's request, so a slow mail server never holds a page
    or a worker (APPOINTMENT_MAIL_IN_BACKGROUND). If the process ends first, what was to be sent
    stays pending and `send_pending_requests` sends it."""
    if not settings.APPOINTMENT_MAIL_IN_BACKGROUND:
        send(pk)
        return None

    def run() -> None:
        try:
            send(pk)
        except Exception as error:  # it stays pending; the timer retries it
            logger.warning("%s: not sent (%s).", name, type(error).__name__)
        finally:
            connections.close_all()  # this thread's own database connection

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def _practice_message(request: AppointmentRequest) -> EmailMessage:
    """The practice's notification, in the practice's language (recipients.practice_language):
    that a request arrived, and the link to read and answer it. No health data: not even the
    patient's name or address (the practice sees them behind the link)."""
    return conversation.message(request, conversation.Side.PRACTICE, "practice")


def _patient_message(request: AppointmentRequest, together: list) -> EmailMessage:
    """The patient's confirmation, with the link to follow the request: one for a second
    opinion sent to several specialists, naming each."""
    return conversation.message(request, conversation.Side.PATIENT, "patient", together=together)


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
                if not request.recipient:  # stored before recipients were fixed on arrival
                    request.recipient, _own = recipients.recipient_for(request.target)
                _practice_message(request).send()
                request.practice_notified_at = now
                own = request.recipient != settings.APPOINTMENT_INBOX_EMAIL
                if own and request.status == AppointmentRequest.Status.NEW:
                    request.status = AppointmentRequest.Status.FORWARDED
            if request.patient_notified_at is None:
                together = request.sent_together()
                # One confirmation names them all: the first's, or the first still open's.
                sender = next((r for r in together if r.status != Status.CLOSED), request)
                if sender.pk == request.pk:
                    _patient_message(request, together).send()
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
    """Retry every pending request, then every answer the other side has not been told of,
    oldest first; returns (sent, failed). One failure, even a database error, does not stop the
    others."""
    sent = failed = 0
    requests = AppointmentRequest.objects.pending().order_by("created").values_list("pk", flat=True)
    answers = Answer.objects.filter(notified_at__isnull=True).order_by("created")
    work = [(deliver, "Appointment request", pk) for pk in requests] + [
        (conversation.notify, "Answer", pk) for pk in answers.values_list("pk", flat=True)
    ]
    for send, what, pk in work:
        try:
            outcome = send(pk)
        except DatabaseError as error:
            logger.warning("%s %s: not retried (%s).", what, pk, type(error).__name__)
            outcome = Delivery.FAILED
        sent += outcome == Delivery.SENT
        failed += outcome == Delivery.FAILED
    return sent, failed


def purge(now=None) -> int:
    """Delete the requests older than APPOINTMENT_RETENTION_DAYS; returns how many."""
    expired = AppointmentRequest.objects.expired(settings.APPOINTMENT_RETENTION_DAYS, now)
    count, _by_model = expired.delete()
    return count
