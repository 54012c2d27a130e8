"""What happens to a request after it is sent: the practice reads and answers it through a link,
the patient follows it through a link of their own.

Neither side needs an account. Each email of the conversation carries a signed link
(django.core.signing) that names the request, the side, the side's link version and the step
of the conversation it was sent at. A link:

- shows the request to its side until it expires (APPOINTMENT_LINK_DAYS);
- acts once: an answer moves the request's step on, and a link acts only at the step it was
  sent at, so a second press (or an old email) changes nothing; the other side's email carries
  the next link;
- can be revoked in admin, which moves the side's link version on (a new link can be sent).

Answers are health data. They live on the site behind the links: the emails say only that
something happened and link to it, and nothing here logs what anyone wrote.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from appointments import recipients
from appointments.models import Answer, AppointmentRequest

logger = logging.getLogger(__name__)

Side = Answer.Side
Kind = Answer.Kind
Status = AppointmentRequest.Status

SALTS = {Side.PRACTICE: "appointments.link.practice", Side.PATIENT: "appointments.link.patient"}
URL_NAMES = {Side.PRACTICE: "appointments:answer", Side.PATIENT: "appointments:follow"}
VERSION_FIELDS = {Side.PRACTICE: "practice_links", Side.PATIENT: "patient_links"}

# What each side may do, and the request's status after it.
KINDS = {
    Side.PRACTICE: {Kind.PROPOSAL, Kind.QUESTION, Kind.DECLINE},
    Side.PATIENT: {Kind.ACCEPT, Kind.REPLY},
}
STATUS_AFTER = {
    Kind.PROPOSAL: Status.ANSWERED,
    Kind.QUESTION: Status.ANSWERED,
    Kind.DECLINE: Status.DECLINED,
    Kind.ACCEPT: Status.AGREED,
    Kind.REPLY: Status.REPLIED,
}
# Nothing more is answered on a request that is declined or closed.
FINISHED = {Status.DECLINED, Status.CLOSED}


def token(request: AppointmentRequest, side: str, issued: int | None = None) -> str:
    """The link's signed value. `issued` (a Unix time) dates it back: a link made from another
    link (the patient's page of requests sent together) expires with that one."""
    data = {"r": request.pk, "v": getattr(request, VERSION_FIELDS[side]), "s": request.step}
    if issued is None:
        return signing.dumps(data, salt=SALTS[side])
    return _IssuedAt(salt=SALTS[side], issued=issued).sign_object(data)


class _IssuedAt(signing.TimestampSigner):
    """Signs with a given time instead of now."""

    def __init__(self, *, issued: int, **kwargs):
        super().__init__(**kwargs)
        self.issued = issued

    def timestamp(self) -> str:
        return signing.b62_encode(self.issued)


def link(request: AppointmentRequest, side: str) -> str:
    """The absolute link for `side` at the request's current step, in that side's language."""
    with translation.override(language_of(request, side)):
        path = reverse(URL_NAMES[side], args=[token(request, side)])
    return settings.SITE_URL + path


def language_of(request: AppointmentRequest, side: str) -> str:
    """The practice's language (recipients.practice_language), or the language the patient
    used the site in."""
    if side == Side.PRACTICE:
        return recipients.practice_language(request.target)
    available = {code for code, _name in settings.LANGUAGES}
    return request.site_language if request.site_language in available else "en"


class LinkError(Exception):
    """A link that shows nothing: `problem` is "invalid", "expired", "revoked" or "gone"."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


@dataclass
class Visit:
    """A side's look at a request through a link sent at `step`."""

    request: AppointmentRequest
    side: str
    step: int
    issued: int | None = None  # when the link was made (Unix time)

    @property
    def may_act(self) -> bool:
        """The link is the latest of the conversation and the request is still open."""
        return self.step == self.request.step and self.request.status not in FINISHED


def open_link(value: str, side: str) -> Visit:
    """The request a link stands for. Raises LinkError."""
    try:
        data = signing.loads(
            value, salt=SALTS[side], max_age=settings.APPOINTMENT_LINK_DAYS * 24 * 60 * 60
        )
    except signing.SignatureExpired:
        raise LinkError("expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise LinkError("invalid") from None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(key), int) and not isinstance(data.get(key), bool)
        for key in ("r", "v", "s")
    ):
        raise LinkError("invalid")
    request = (
        AppointmentRequest.objects.select_related("specialist", "clinic")
        .filter(pk=data["r"])
        .first()
    )
    if request is None:
        raise LinkError("gone")  # purged after the retention period
    if getattr(request, VERSION_FIELDS[side]) != data["v"]:
        raise LinkError("revoked")
    return Visit(request, side, data["s"], signing.b62_decode(value.rsplit(":", 2)[1]))


def mark_read(request: AppointmentRequest) -> None:
    """The practice opened its link: the patient's page says so from now on."""
    now = timezone.now()
    AppointmentRequest.objects.filter(pk=request.pk, read_at__isnull=True).update(read_at=now)
    AppointmentRequest.objects.filter(
        pk=request.pk, status__in=[Status.NEW, Status.FORWARDED]
    ).update(status=Status.READ)
    request.refresh_from_db(fields=["read_at", "status"])


def answer(visit: Visit, kind: str, *, text: str = "", times=(), colleague=None) -> Answer | None:
    """Record one step of the conversation and tell the other side after the commit. None when
    the link has acted already, the conversation has moved on, or the request is finished: then
    nothing changes."""
    if kind not in KINDS[visit.side]:
        raise ValueError(f"{visit.side} cannot {kind}")
    with transaction.atomic():
        request = AppointmentRequest.objects.select_for_update(of=("self",)).get(
            pk=visit.request.pk
        )
        if request.step != visit.step or request.status in FINISHED:
            return None
        if kind == Kind.ACCEPT and not any(t == times[0] for t in proposed_times(request)):
            return None
        if visit.side == Side.PATIENT and not practice_has_answered(request):
            return None  # the patient answers the practice (until then it owes the answer)
        entry = Answer.objects.create(
            request=request,
            side=visit.side,
            kind=kind,
            text=text,
            times=list(times),
            colleague=colleague,
        )
        request.step = F("step") + 1
        # A message after the agreement (a question, a reply) leaves the date agreed.
        if not (request.status == Status.AGREED and kind in {Kind.QUESTION, Kind.REPLY}):
            request.status = STATUS_AFTER[kind]
        if visit.side == Side.PRACTICE and request.read_at is None:
            request.read_at = timezone.now()
        request.save(update_fields=["step", "status", "read_at"])
        transaction.on_commit(lambda: notify_soon(entry.pk), robust=True)
    visit.request.refresh_from_db()
    return entry


def practice_has_answered(request: AppointmentRequest) -> bool:
    return request.answers.filter(side=Side.PRACTICE).exists()


def proposed_times(request: AppointmentRequest) -> list:
    """The dates and times of the practice's latest proposal, unless a later answer of the
    practice replaced it or the patient has accepted one since."""
    for entry in request.answers.order_by("-created", "-id"):
        if entry.kind == Kind.PROPOSAL:
            return list(entry.times)
        if entry.kind in {Kind.DECLINE, Kind.ACCEPT}:
            return []
    return []


def agreed_time(request: AppointmentRequest):
    """The date and time the patient accepted, unless the practice proposed new ones since."""
    for entry in request.answers.order_by("-created", "-id"):
        if entry.kind == Kind.ACCEPT:
            return entry.times[0]
        if entry.kind in {Kind.PROPOSAL, Kind.DECLINE}:
            return None
    return None


def notify_soon(answer_id: int) -> None:
    """Tell the other side now, or (failing that) leave it to send_pending_requests."""
    from appointments.delivery import run_soon

    run_soon(notify, answer_id, f"answer-{answer_id}")


def message(request: AppointmentRequest, side: str, template: str, **extra) -> EmailMessage:
    """An email to `side` about the request, in its language, from
    appointments/email/<template>.txt and <template>_subject.txt, with a fresh link to the
    side's page (`link`, valid for `days`), the request and its listing."""
    with translation.override(language_of(request, side)):
        context = {
            "request": request,
            "target": request.target,
            "link": link(request, side),
            "days": settings.APPOINTMENT_LINK_DAYS,
            **extra,
        }
        subject = render_to_string(f"appointments/email/{template}_subject.txt", context)
        body = render_to_string(f"appointments/email/{template}.txt", context)
    address = request.email if side == Side.PATIENT else request.recipient
    return EmailMessage(subject.strip(), body, to=[address])


def _message(entry: Answer) -> EmailMessage:
    """The email to the side that did not write `entry`: what happened and the link, nothing
    of what was written."""
    to_side = Side.PATIENT if entry.side == Side.PRACTICE else Side.PRACTICE
    return message(entry.request, to_side, f"{to_side}_answer", entry=entry)


def notify(answer_id: int) -> str:
    """Send the email about one answer, unless it has gone or is being sent elsewhere. The row
    stays locked while sending. Returns "sent", "failed" or "skipped"."""
    with transaction.atomic():
        entry = (
            Answer.objects.filter(pk=answer_id, notified_at__isnull=True)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("request__specialist", "request__clinic")
            .first()
        )
        if entry is None:
            return "skipped"
        try:
            _message(entry).send()
        except Exception as error:  # any backend failure: send_pending_requests retries
            logger.warning(
                "Answer %s to request %s: sending failed (%s); it stays pending.",
                entry.pk,
                entry.request_id,
                type(error).__name__,
            )
            return "failed"
        entry.notified_at = timezone.now()
        entry.save(update_fields=["notified_at"])
    return "sent"


def revoke(request: AppointmentRequest, side: str) -> None:
    """Every link sent to `side` so far stops working. The patient's links of a second opinion
    sent to several specialists open all of them, so all of them stop."""
    field = VERSION_FIELDS[side]
    requests = AppointmentRequest.objects.filter(pk=request.pk)
    if side == Side.PATIENT and request.together is not None:
        requests = AppointmentRequest.objects.filter(together=request.together)
    requests.update(**{field: F(field) + 1})
    request.refresh_from_db(fields=[field])


def send_link(request: AppointmentRequest, side: str) -> None:
    """Mail `side` a new link to the request (after a revocation, or when an email was lost).
    Raises the mail backend's error."""
    message(request, side, f"{side}_new_link").send()
