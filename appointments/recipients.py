"""Where a listing's appointment requests go (see RecipientChange).

A listing's `email` is the address editors want requests to go to. Setting it proposes a change;
staff with the appointment-request permission approve it (their own proposals need no second
approval); the new address then gets a signed link and receives requests only once its owner has
confirmed them. The old address is told. A request's recipient is fixed when the request is
stored, so no later change reroutes it.
"""

import logging

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Case, Exists, OuterRef, Q, Subquery, When
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from appointments.models import RecipientChange
from directory.models import Affiliation, Clinic, Location, Specialist, Status

logger = logging.getLogger(__name__)

PERMISSION = "appointments.change_appointmentrequest"
CONFIRMATION_SALT = "appointments.recipient-confirmation"

State = RecipientChange.State


def may_route_requests(user) -> bool:
    """Only staff with the appointment-request permission decide where requests go."""
    return bool(user and user.is_active and user.is_staff and user.has_perm(PERMISSION))


Purpose = RecipientChange.Purpose


def address_in_force(listing: Specialist | Clinic, purpose: str = Purpose.REQUESTS) -> str:
    """The confirmed address of the listing, or "" (its requests go to the site's inbox).
    Runs a query."""
    changes = RecipientChange.objects.of(listing, purpose).in_force()
    return changes.values_list("email", flat=True).first() or ""


def international_office_for(target: Specialist | Clinic) -> str:
    """The confirmed international office of the clinic (a specialist's: of the published
    clinics they work at, primary first), or "". One query."""
    offices = RecipientChange.objects.in_force().exclude(email="")
    offices = offices.filter(purpose=Purpose.INTERNATIONAL, clinic__status=Status.PUBLISHED)
    if isinstance(target, Specialist):
        affiliations = Affiliation.objects.filter(specialist=target, clinic=OuterRef("clinic"))
        offices = (
            offices.filter(Exists(affiliations))
            .annotate(
                primary=Exists(affiliations.filter(is_primary=True)),
                first=Subquery(affiliations.order_by("id").values("id")[:1]),
            )
            .order_by("-primary", "first")
        )
    else:
        offices = offices.filter(clinic=target)
    return offices.values_list("email", flat=True).first() or ""


def recipient_for(target: Specialist | Clinic, *, abroad: bool = False) -> tuple[str, bool]:
    """Where a new request to `target` goes, and whether that is the practice's own address (not
    the site's inbox): for a patient living abroad, the confirmed international office of the
    clinic first; then the listing's confirmed address, else (for a specialist) that of a
    published clinic they work at, primary first, else APPOINTMENT_INBOX_EMAIL. One or two
    queries."""
    if abroad and (office := international_office_for(target)):
        return office, True
    in_force = RecipientChange.objects.in_force().exclude(email="")
    in_force = in_force.filter(purpose=Purpose.REQUESTS)
    if isinstance(target, Specialist):
        affiliations = Affiliation.objects.filter(
            specialist=target, clinic=OuterRef("clinic"), clinic__status=Status.PUBLISHED
        )
        in_force = (
            in_force.filter(Q(specialist=target) | Q(Exists(affiliations)))
            .annotate(
                other=Case(When(specialist=target, then=1), default=2),
                primary=Exists(affiliations.filter(is_primary=True)),
                first=Subquery(affiliations.order_by("id").values("id")[:1]),
            )
            .order_by("other", "-primary", "first")
        )
    else:
        in_force = in_force.filter(clinic=target)
    address = in_force.values_list("email", flat=True).first()
    return (address, True) if address else (settings.APPOINTMENT_INBOX_EMAIL, False)


def _log(listing, user, message: str) -> None:
    """A line in the listing's admin history (who did it, when). Commands have no user: their
    proposals stay in the RecipientChange table, which is the full history."""
    if user is None:
        return
    LogEntry.objects.log_actions(
        user_id=user.pk,
        queryset=[listing],
        action_flag=CHANGE,
        change_message=message,
        single_object=True,
    )


def _what(change: RecipientChange) -> str:
    """How the admin history names the address (in English, as Django's own entries)."""
    if change.purpose == Purpose.INTERNATIONAL:
        return "International office address for requests from abroad"
    return "Appointment request address"


def _same(one: str, other: str) -> bool:
    return one.strip().casefold() == other.strip().casefold()


@transaction.atomic
def propose(
    listing: Specialist | Clinic, email: str, *, by=None, purpose: str = Purpose.REQUESTS
) -> RecipientChange | None:
    """The listing's address for `purpose` was set to `email` (by `by`, or by a command when
    None). Opens a change unless that address is already in force or waiting; withdraws changes
    to other addresses that were still waiting. An empty address takes effect at once: requests
    then go to the site's inbox (or, from abroad, where the others go), which exposes nothing.
    Idempotent."""
    email = email.strip()
    changes = RecipientChange.objects.of(listing, purpose).select_for_update()
    in_force = changes.in_force().first()
    waiting = list(changes.open())
    now = timezone.now()
    same_as_in_force = in_force is not None and _same(in_force.email, email)
    if same_as_in_force or (in_force is None and not email):
        _withdraw(waiting, now)
        return None
    for change in waiting:
        if _same(change.email, email):
            if change.state == State.AWAITING_APPROVAL and may_route_requests(by):
                approve(change, by=by)
            _withdraw([other for other in waiting if other is not change], now)
            return change
    _withdraw(waiting, now)
    field = "specialist" if isinstance(listing, Specialist) else "clinic"
    change = RecipientChange.objects.create(
        **{field: listing},
        purpose=purpose,
        email=email,
        state=State.AWAITING_APPROVAL,
        requested_by=by,
    )
    if not email:
        # Back to the site's inbox: nothing to confirm.
        _supersede(in_force, now)
        change.state, change.confirmed_at = State.CONFIRMED, now
        change.save(update_fields=["state", "confirmed_at"])
        if purpose == Purpose.INTERNATIONAL:
            _log(listing, by, "Requests from abroad now go where the clinic's others go.")
        else:
            _log(listing, by, "Appointment requests now go to the site's inbox.")
        return change
    _log(listing, by, f"{_what(change)} {email} proposed.")
    if may_route_requests(by):
        approve(change, by=by)
    return change


def _withdraw(changes: list[RecipientChange], now) -> None:
    for change in changes:
        change.state, change.closed_at = State.WITHDRAWN, now
        change.save(update_fields=["state", "closed_at"])


def _supersede(change: RecipientChange | None, now) -> None:
    if change is not None:
        change.state, change.closed_at = State.SUPERSEDED, now
        change.save(update_fields=["state", "closed_at"])


@transaction.atomic
def approve(change: RecipientChange, *, by) -> None:
    """Staff with the permission approve a waiting change: the confirmation link goes to the new
    address and the address in force (if any) is told. Raises PermissionError for anyone else."""
    if not may_route_requests(by):
        raise PermissionError("Only staff with the appointment-request permission may approve.")
    if change.state != State.AWAITING_APPROVAL:
        return
    change.state, change.approved_by, change.approved_at = (
        State.AWAITING_CONFIRMATION,
        by,
        timezone.now(),
    )
    change.save(update_fields=["state", "approved_by", "approved_at"])
    _log(change.listing, by, f"{_what(change)} {change.email} approved.")
    transaction.on_commit(lambda: send_confirmation(change.pk), robust=True)


@transaction.atomic
def reject(change: RecipientChange, *, by) -> None:
    if not may_route_requests(by):
        raise PermissionError("Only staff with the appointment-request permission may reject.")
    if change.state not in {State.AWAITING_APPROVAL, State.AWAITING_CONFIRMATION}:
        return
    change.state, change.closed_at = State.REJECTED, timezone.now()
    change.save(update_fields=["state", "closed_at"])
    _log(change.listing, by, f"{_what(change)} {change.email} rejected.")


def confirmation_token(change: RecipientChange) -> str:
    return signing.dumps({"change": change.pk, "email": change.email}, salt=CONFIRMATION_SALT)


def change_for(token: str) -> RecipientChange:
    """The change a confirmation link stands for. Raises signing.SignatureExpired for an old
    link, signing.BadSignature for a forged or damaged one, RecipientChange.DoesNotExist for a
    change that no longer exists or whose address is no longer the one the link was sent to."""
    data = signing.loads(
        token, salt=CONFIRMATION_SALT, max_age=settings.RECIPIENT_CONFIRMATION_DAYS * 86400
    )
    if not isinstance(data, dict):
        raise signing.BadSignature("unexpected content")
    return RecipientChange.objects.select_related("specialist", "clinic").get(
        pk=data.get("change"), email=data.get("email")
    )


@transaction.atomic
def confirm(change: RecipientChange) -> bool:
    """The address's owner confirmed it: it is in force from now on, the one before is
    superseded. False when the change was not waiting for that (confirmed already, rejected,
    withdrawn)."""
    changes = RecipientChange.objects.of(change.listing, change.purpose).select_for_update()
    current = changes.get(pk=change.pk)
    if current.state != State.AWAITING_CONFIRMATION:
        return False
    now = timezone.now()
    _supersede(changes.in_force().first(), now)
    current.state, current.confirmed_at = State.CONFIRMED, now
    current.save(update_fields=["state", "confirmed_at"])
    _log(
        current.listing,
        current.approved_by or current.requested_by,
        f"{_what(current)} {current.email} confirmed by its owner.",
    )
    return True


def _mail(template: str, change: RecipientChange, to: str, **context) -> EmailMessage:
    """A mail about the change, in the practice's language; replies reach the site's inbox."""
    with translation.override(practice_language(change.listing)):
        context = {"change": change, "listing": change.listing, **context}
        subject = render_to_string(f"appointments/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"appointments/email/{template}.txt", context)
    return EmailMessage(subject, body, to=[to], reply_to=[settings.APPOINTMENT_INBOX_EMAIL])


def send_confirmation(change_id: int) -> None:
    """Mail the confirmation link to the new address, and a notice to the address in force. A
    failure is logged (without addresses) and can be repeated from admin."""
    change = RecipientChange.objects.select_related("specialist", "clinic").get(pk=change_id)
    if change.state != State.AWAITING_CONFIRMATION:
        return
    with translation.override(practice_language(change.listing)):
        path = reverse("appointments:confirm-address", args=[confirmation_token(change)])
    link = settings.SITE_URL + path
    try:
        _mail(
            "address_confirm",
            change,
            change.email,
            link=link,
            days=settings.RECIPIENT_CONFIRMATION_DAYS,
        ).send()
        if old := address_in_force(change.listing, change.purpose):
            _mail("address_notice", change, old).send()
    except Exception as error:  # any backend failure: staff can send the link again
        logger.warning(
            "Request address change %s: sending failed (%s).", change.pk, type(error).__name__
        )
        return
    change.confirmation_sent_at = timezone.now()
    change.save(update_fields=["confirmation_sent_at"])


# Switzerland's cantons by their language (the others speak German; bilingual cantons are
# listed by the language of most of their people).
CANTON_LANGUAGES = {
    "GE": "fr",
    "VD": "fr",
    "NE": "fr",
    "JU": "fr",
    "FR": "fr",
    "VS": "fr",
    "TI": "it",
}


def primary_location(listing: Specialist | Clinic) -> Location | None:
    """The listing's primary location (a specialist's primary affiliation's, a clinic's first),
    with its gazetteer place. A query."""
    if isinstance(listing, Specialist):
        locations = Location.objects.filter(affiliations__specialist=listing).order_by(
            "-affiliations__is_primary", "affiliations__id"
        )
    else:
        locations = listing.locations.order_by("id")
    return locations.select_related("place").first()


def practice_country(listing: Specialist | Clinic) -> str:
    """The country of the listing's primary location, or "". A query."""
    location = primary_location(listing)
    return location.country if location is not None else ""


def practice_language(listing: Specialist | Clinic) -> str:
    """The language the site writes to a practice in: the listing's own setting (a specialist's,
    else their primary clinic's), else German in Germany and Austria and the canton's language
    in Switzerland; a language the site has no text in yet becomes English. A query or two."""
    chosen = listing.correspondence_language
    location = None
    if isinstance(listing, Specialist):
        affiliation = (
            listing.affiliations.select_related("clinic", "location__place")
            .order_by("-is_primary", "id")
            .first()
        )
        if affiliation is not None:
            chosen = chosen or affiliation.clinic.correspondence_language
            location = affiliation.location
    else:
        location = listing.locations.select_related("place").first()
    if not chosen and location is not None:
        region = location.place.region if location.place else ""
        chosen = CANTON_LANGUAGES.get(region, "de") if location.country == "CH" else "de"
    chosen = chosen or "de"
    available = {code for code, _name in settings.LANGUAGES}
    return chosen if chosen in available else "en"
