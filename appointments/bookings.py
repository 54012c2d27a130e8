"""Booking a free slot without an account.

1. The patient picks a slot (directory.Slot) and gives name, email, phone and the reason, with
   the consent a request asks for. `hold()` stores a held Booking and marks the slot held for
   BOOKING_HOLD_MINUTES; the patient gets an email with a link.
2. The link's page has a button; pressing it, `confirm()` books the slot (mail scanners follow
   links, they do not press buttons). The practice is told (a link to a page that shows the
   booking), the patient gets a confirmation with a link to cancel.
3. `cancel()` frees the slot again; the practice is told.
4. A hold nobody confirmed runs out: `expire()` (send_pending_requests, every few minutes) marks
   the booking expired and frees the slot; until then `hold()` and `confirm()` treat a hold that
   ran out as free. A late confirmation still books the slot when nobody else has taken it.

One slot, one booking: every change takes the slot's row lock first (SELECT ... FOR UPDATE),
which makes concurrent bookers wait for each other, and a partial unique constraint in
PostgreSQL (Booking.Meta, "booking_one_per_slot") refuses a second held or booked booking of a
slot whatever the code does. The loser gets "just taken" and the next free times.

Lock order: the slot, then its bookings. Nothing here holds a booking's lock while waiting for
a slot's.

Bookings are health data: the emails carry links and the booking's number, nothing the patient
wrote, and not the time either (as for requests); nothing here logs what anyone wrote.
"""

import logging
from datetime import timedelta
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from appointments import recipients
from appointments.conversation import LinkError
from appointments.delivery import MAX_COUNTED_ATTEMPTS, Delivery, run_soon
from appointments.models import Booking
from directory.models import Affiliation, Slot
from directory.slots import availability

logger = logging.getLogger(__name__)

BookingStatus = Booking.Status
TAKING = [BookingStatus.HELD, BookingStatus.BOOKED]


class Outcome:
    BOOKED = "booked"  # confirm(): booked now
    ALREADY = "already"  # the link has acted before (booked, or cancelled, already)
    TAKEN = "taken"  # someone else holds or has booked the slot, or it has gone
    CANCELLED = "cancelled"  # cancel(): cancelled now; confirm(): the booking was cancelled
    PAST = "past"  # the appointment has begun: nothing changes
    GONE = "gone"  # no such booking (purged)


def slots(now=None):
    """Slots a patient may look at: still to come, of a published clinic and (when a
    specialist's) of a published specialist."""
    now = now or timezone.now()
    return Slot.objects.public().filter(start__gt=now)


def deep_link(slot: Slot) -> str:
    """The vendor's own booking page for the slot (SMART Scheduling Links booking-deep-link),
    when it is an http(s) address; else ""."""
    url = slot.booking_url.strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return ""
    return url if scheme in {"http", "https"} else ""


def target_of(slot: Slot):
    """Whose time the slot is: the specialist of its place of work, else the clinic."""
    return slot.affiliation.specialist if slot.affiliation_id else slot.clinic


def _specialist_ids(*bookings: Booking) -> list[int]:
    return [b.specialist_id for b in bookings if b.specialist_id]


def hold(slot_id: int, booking: Booking, now=None) -> Booking | None:
    """Hold the slot for `booking` (unsaved, the patient's fields filled in): stored as held
    until BOOKING_HOLD_MINUTES from now, the slot marked held, the email with the link sent
    after the commit. None when the slot is not free (booked, held, begun, unpublished): the
    caller offers the next free times."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            slot = (
                slots(now)
                .select_for_update(of=("self",))
                .select_related("location", "affiliation")
                .filter(pk=slot_id)
                .first()
            )
            if slot is None or not slot.is_free(now):
                return None
            # A hold that ran out frees the slot, whether or not expire() has run yet.
            Booking.objects.holds_run_out(now).filter(slot=slot).update(
                status=BookingStatus.EXPIRED
            )
            booking.slot = slot
            booking.clinic_id = slot.clinic_id
            booking.specialist_id = slot.affiliation.specialist_id if slot.affiliation else None
            booking.start, booking.end = slot.start, slot.end
            booking.address = str(slot.location)
            booking.status = BookingStatus.HELD
            booking.created = now
            booking.hold_until = now + timedelta(minutes=settings.BOOKING_HOLD_MINUTES)
            booking.recipient, _own = recipients.recipient_for(booking.target)
            booking.save()
            Slot.objects.filter(pk=slot.pk).update(held_until=booking.hold_until)
            transaction.on_commit(partial(deliver_soon, booking.pk), robust=True)
    except IntegrityError:
        # The constraint: another booking holds or has taken it (no code path should get here
        # past the row lock, but the database has the last word).
        return None
    availability.refresh(_specialist_ids(booking))
    return booking


def _locked(booking_id: int):
    """The booking and its slot, locked in that order (the slot first); (None, None) when the
    booking does not exist. Inside a transaction."""
    slot_id = Booking.objects.filter(pk=booking_id).values_list("slot_id", flat=True).first()
    slot = None
    if slot_id is not None:
        slot = Slot.objects.select_for_update(of=("self",)).filter(pk=slot_id).first()
    booking = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("specialist", "clinic")
        .filter(pk=booking_id)
        .first()
    )
    return booking, slot


def confirm(booking_id: int, now=None) -> str:
    """The patient pressed the button behind the email's link: book the slot. BOOKED, or
    ALREADY (booked before), CANCELLED, TAKEN (someone else holds or has booked it, or it has
    begun or gone) or GONE; only BOOKED changes anything."""
    now = now or timezone.now()
    try:
        booking = _book(booking_id, now)
    except IntegrityError:
        return Outcome.TAKEN  # the constraint: another booking has the slot
    if isinstance(booking, str):
        return booking
    availability.refresh(_specialist_ids(booking))
    return Outcome.BOOKED


def _book(booking_id: int, now) -> Booking | str:
    """confirm()'s transaction: the booking booked, or the outcome that says why not."""
    with transaction.atomic():
        booking, slot = _locked(booking_id)
        if booking is None:
            return Outcome.GONE
        if booking.status == BookingStatus.BOOKED:
            return Outcome.ALREADY
        if booking.status == BookingStatus.CANCELLED:
            return Outcome.CANCELLED
        if slot is None or not slots(now).filter(pk=slot.pk).exists() or slot.booked:
            return Outcome.TAKEN
        if _moved(slot, booking):
            # The practice's feed changed the time while the hold had run out: not the time
            # the patient chose any more.
            return Outcome.TAKEN
        others = Booking.objects.filter(slot=slot).exclude(pk=booking.pk)
        others.filter(status=BookingStatus.HELD, hold_until__lte=now).update(
            status=BookingStatus.EXPIRED
        )
        if others.filter(status__in=TAKING).exists():
            return Outcome.TAKEN
        booking.status, booking.confirmed_at = BookingStatus.BOOKED, now
        booking.save(update_fields=["status", "confirmed_at"])
        Slot.objects.filter(pk=slot.pk).update(booked=True, held_until=None)
        transaction.on_commit(partial(deliver_soon, booking.pk), robust=True)
    return booking


def _moved(slot: Slot, booking: Booking) -> bool:
    """Whether the slot is no longer the time, place and person the booking copied."""
    specialist = (
        Affiliation.objects.filter(pk=slot.affiliation_id)
        .values_list("specialist_id", flat=True)
        .first()
    )
    return (slot.start, slot.end, slot.clinic_id, specialist, str(slot.location)) != (
        booking.start,
        booking.end,
        booking.clinic_id,
        booking.specialist_id,
        booking.address,
    )


def cancel(booking_id: int, now=None) -> str:
    """The patient cancels through the link of the booking's confirmation: the slot is free
    again and the practice is told (when it was told of the booking). CANCELLED, or ALREADY
    (cancelled or expired before), PAST (the appointment has begun) or GONE."""
    now = now or timezone.now()
    with transaction.atomic():
        booking, slot = _locked(booking_id)
        if booking is None:
            return Outcome.GONE
        if booking.status not in TAKING:
            return Outcome.ALREADY
        if booking.start <= now:
            return Outcome.PAST
        booking.status, booking.cancelled_at = BookingStatus.CANCELLED, now
        booking.save(update_fields=["status", "cancelled_at"])
        if slot is not None:
            # The booking was the slot's only holder or taker (the constraint).
            Slot.objects.filter(pk=slot.pk).update(booked=False, held_until=None)
        transaction.on_commit(partial(deliver_soon, booking.pk), robust=True)
    availability.refresh(_specialist_ids(booking))
    return Outcome.CANCELLED


def expire(now=None) -> int:
    """Mark the bookings whose hold ran out unconfirmed expired and free their slots (and every
    other hold that ran out, as availability.roll does); the number of bookings. Two statements,
    each its own transaction: no lock is held while waiting for another."""
    now = now or timezone.now()
    count = Booking.objects.holds_run_out(now).update(status=BookingStatus.EXPIRED)
    availability.roll(now)
    return count


# --- Links -------------------------------------------------------------------------------------

SALTS = {
    "confirm": "appointments.booking.confirm",
    "cancel": "appointments.booking.cancel",
    "practice": "appointments.booking.practice",
}
URL_NAMES = {
    "confirm": "appointments:booking-confirm",
    "cancel": "appointments:booking-cancel",
    "practice": "appointments:booking-practice",
}


def max_age(purpose: str) -> int:
    """Seconds a link works: the confirmation link a day (the hold is much shorter, but a late
    confirmation still books a slot nobody took), the others as long as the booking is kept."""
    if purpose == "confirm":
        return 24 * 60 * 60
    return settings.APPOINTMENT_RETENTION_DAYS * 24 * 60 * 60


def token(booking: Booking, purpose: str) -> str:
    return signing.dumps({"b": booking.pk}, salt=SALTS[purpose])


def link(booking: Booking, purpose: str) -> str:
    """The absolute link, in the active language."""
    return settings.SITE_URL + reverse(URL_NAMES[purpose], args=[token(booking, purpose)])


def open_link(value: str, purpose: str) -> Booking:
    """The booking a link stands for. Raises conversation.LinkError ("invalid", "expired",
    "gone")."""
    try:
        data = signing.loads(value, salt=SALTS[purpose], max_age=max_age(purpose))
    except signing.SignatureExpired:
        raise LinkError("expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise LinkError("invalid") from None
    number = data.get("b") if isinstance(data, dict) else None
    if not isinstance(number, int) or isinstance(number, bool):
        raise LinkError("invalid")
    booking = Booking.objects.select_related("specialist", "clinic").filter(pk=number).first()
    if booking is None:
        raise LinkError("gone")  # purged after the retention period
    return booking


# --- Emails ------------------------------------------------------------------------------------


def patient_language(booking: Booking) -> str:
    available = {code for code, _name in settings.LANGUAGES}
    return booking.site_language if booking.site_language in available else "en"


def _message(booking: Booking, template: str, *, to_practice: bool, purpose: str) -> EmailMessage:
    """An email from appointments/email/<template>.txt and <template>_subject.txt, in the
    practice's language or the patient's, with the link for `purpose`."""
    language = (
        recipients.practice_language(booking.target) if to_practice else patient_language(booking)
    )
    with translation.override(language):
        context = {
            "booking": booking,
            "target": booking.target,
            "link": link(booking, purpose),
            "minutes": settings.BOOKING_HOLD_MINUTES,
        }
        subject = render_to_string(f"appointments/email/{template}_subject.txt", context)
        body = render_to_string(f"appointments/email/{template}.txt", context)
    address = booking.recipient if to_practice else booking.email
    return EmailMessage(subject.strip(), body, to=[address])


def _unsent(now=None) -> Q:
    """Bookings with an email still to send."""
    now = now or timezone.now()
    return (
        Q(status=BookingStatus.HELD, link_sent_at__isnull=True, hold_until__gt=now)
        | Q(status=BookingStatus.BOOKED, practice_notified_at__isnull=True)
        | Q(status=BookingStatus.BOOKED, patient_notified_at__isnull=True)
        | Q(
            status=BookingStatus.CANCELLED,
            practice_notified_at__isnull=False,
            cancel_notified_at__isnull=True,
        )
    )


def deliver_soon(booking_id: int):
    return run_soon(deliver, booking_id, f"booking-{booking_id}")


def deliver(booking_id: int) -> str:
    """Send what has not gone yet for this booking: the confirmation link while it is held;
    once booked, the practice's notice and the patient's confirmation with the cancel link;
    once cancelled, the practice's notice of it. The row stays locked while sending (a retry
    running at the same time skips it). A failure is counted and left for
    send_pending_requests."""
    now = timezone.now()
    with transaction.atomic():
        booking = (
            Booking.objects.filter(_unsent(now), pk=booking_id)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("specialist", "clinic")
            .first()
        )
        if booking is None:
            return Delivery.SKIPPED
        outcome = Delivery.SENT
        try:
            if booking.status == BookingStatus.HELD:
                _message(booking, "booking_link", to_practice=False, purpose="confirm").send()
                booking.link_sent_at = now
            elif booking.status == BookingStatus.BOOKED:
                if booking.practice_notified_at is None:
                    _message(
                        booking, "booking_practice", to_practice=True, purpose="practice"
                    ).send()
                    booking.practice_notified_at = now
                if booking.patient_notified_at is None:
                    _message(booking, "booking_booked", to_practice=False, purpose="cancel").send()
                    booking.patient_notified_at = now
            else:
                _message(booking, "booking_cancelled", to_practice=True, purpose="practice").send()
                booking.cancel_notified_at = now
        except Exception as error:  # any backend failure: send_pending_requests retries
            booking.failed_attempts = min(booking.failed_attempts + 1, MAX_COUNTED_ATTEMPTS)
            logger.warning(
                "Booking %s: sending failed (%s); it stays pending.",
                booking.pk,
                type(error).__name__,
            )
            outcome = Delivery.FAILED
        booking.save(
            update_fields=[
                "link_sent_at",
                "practice_notified_at",
                "patient_notified_at",
                "cancel_notified_at",
                "failed_attempts",
            ]
        )
    return outcome


def send_pending(now=None) -> tuple[int, int]:
    """Expire the holds that ran out, then retry every booking with an email still to send,
    oldest first; (sent, failed)."""
    expire(now)
    sent = failed = 0
    pending = Booking.objects.filter(_unsent(now)).order_by("created")
    for pk in pending.values_list("pk", flat=True):
        try:
            outcome = deliver(pk)
        except DatabaseError as error:
            logger.warning("Booking %s: not retried (%s).", pk, type(error).__name__)
            outcome = Delivery.FAILED
        sent += outcome == Delivery.SENT
        failed += outcome == Delivery.FAILED
    return sent, failed


def purge(now=None) -> int:
    """Delete the bookings made more than APPOINTMENT_RETENTION_DAYS ago; how many."""
    count, _by_model = Booking.objects.expired(settings.APPOINTMENT_RETENTION_DAYS, now).delete()
    return count
