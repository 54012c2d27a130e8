"""The appointment request form and its thank-you page, for specialists and clinics; the
practice's and the patient's pages behind their links."""

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from appointments import bookings, conversation, delivery, recipients, reminders, weekly_link
from appointments.forms import (
    SECOND_OPINION_RECIPIENTS,
    AcceptForm,
    AppointmentRequestForm,
    BookingForm,
    DeclineForm,
    ProposalForm,
    QuestionForm,
    ReplyForm,
    countries,
    documents_for,
    kind_of,
)
from appointments.models import AppointmentRequest, Booking, RecipientChange
from core import rate_limits
from directory import seo
from directory.models import Clinic, Specialist, language_name
from directory.slots import availability, weekly
from directory.slots.forms import PracticeExceptionsFormSet, PracticeTimesFormSet

RATE_LIMIT_WINDOW = 60 * 60  # APPOINTMENT_REQUESTS_PER_HOUR counts per hour
SENT = "appointments.sent"  # signs the number the thank-you page shows


def _request_target(kind: str, slug: str) -> Specialist | Clinic:
    """The published specialist or clinic a request goes to; drafts and archived are 404."""
    model = Specialist if kind == "specialist" else Clinic
    return get_object_or_404(model.objects.published(), slug=slug)


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
def appointment_request(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    """The appointment request form: GET shows it, POST stores the request and
    redirects to the thank-you page. Errors come back beside their fields with status 400; too
    many submissions from one client get 429."""
    target = _request_target(kind, slug)
    context = {"target": target, "kind": kind}
    if request.method == "POST" and request.POST.get("update"):
        # "Update the recipients" (a second opinion): the form again, as typed, with the
        # specialists for the condition and the consent naming those ticked, to agree anew.
        form = AppointmentRequestForm(
            target=target,
            kind=kind_of(request.POST.get("kind", "")),
            # What was typed, but the consent: it is given anew.
            initial={
                name: request.POST.get(name, "") for name in AppointmentRequestForm.Meta.fields
            },
            also=request.POST.getlist("also"),
        )
        context.update(_kind_context(target, form), form=form)
        context.update(retention_days=settings.APPOINTMENT_RETENTION_DAYS)
        return render(request, "appointments/request_form.html", context)
    if request.method == "POST":
        verdict = rate_limits.hit(
            "appointment-request",
            request,
            limit=settings.APPOINTMENT_REQUESTS_PER_HOUR,
            window=RATE_LIMIT_WINDOW,
        )
        if verdict.over:
            response = render(request, "appointments/request_limited.html", context, status=429)
            response["Retry-After"] = str(verdict.retry_after)
            return response
        form = AppointmentRequestForm(request.POST, target=target)
        context.update(_kind_context(target, form))
        if form.is_valid():
            # The request's number, signed so that nobody can read others' by counting; a bot's
            # (honeypot) request is stored nowhere and gets no number.
            number = "" if form.is_spam else signing.dumps(delivery.submit(form).pk, salt=SENT)
            return redirect(f"{request.path}sent/" + (f"?r={number}" if number else ""))
    else:
        form = AppointmentRequestForm(
            target=target,
            kind=kind_of(request.GET.get("kind", "")),
            initial={"condition": request.GET.get("condition", "")},
            also=request.GET.getlist("also"),
        )
        context.update(_kind_context(target, form))
    context.update(
        form=form,
        retention_days=settings.APPOINTMENT_RETENTION_DAYS,
    )
    status = 400 if form.is_bound else 200
    return render(request, "appointments/request_form.html", context, status=status)


KIND_TITLES = {
    AppointmentRequest.Kind.APPOINTMENT: _("Request an appointment"),
    AppointmentRequest.Kind.SECOND_OPINION: _("Ask for a second opinion"),
    AppointmentRequest.Kind.COST_ESTIMATE: _("Ask for a cost estimate"),
}


def _kind_context(target, form: AppointmentRequestForm) -> dict:
    """The page's title for the kind of request, links to the other kinds, and the documents
    to have ready for the chosen condition."""
    chosen = form.data.get("condition") if form.is_bound else form.initial.get("condition")
    condition = form.conditions.get(chosen or "")
    return {
        "chooser": _chooser(target, form, condition),
        "request_kind": form.kind,
        "title": KIND_TITLES[form.kind],
        "other_kinds": [(kind, title) for kind, title in KIND_TITLES.items() if kind != form.kind],
        "documents": documents_for(condition),
        "crumbs": [
            seo.home_crumb(),
            seo.Crumb(str(target), target.get_absolute_url()),
            seo.Crumb(KIND_TITLES[form.kind]),
        ],
    }


def _chooser(target, form: AppointmentRequestForm, condition) -> dict | None:
    """A second opinion's choice of further recipients: the specialists who list the condition
    (the first SECOND_OPINION_CHOICES, and any chosen already). None for the other kinds."""
    if form.kind != AppointmentRequest.Kind.SECOND_OPINION:
        return None
    return {
        "condition": condition,
        "conditions": bool(form.conditions),
        "candidates": form.candidates,
        "chosen": set(form.wanted),
        "more": SECOND_OPINION_RECIPIENTS - 1,
        "invalid": form.together is None,
    }


@never_cache
def appointment_sent(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    """The thank-you page with the request's number (from the signed `r`); nothing of what was
    sent."""
    target = _request_target(kind, slug)
    try:
        number = signing.loads(request.GET.get("r", ""), salt=SENT, max_age=24 * 60 * 60)
    except (signing.BadSignature, ValueError, TypeError):
        number = None
    # A second opinion sent to several specialists: their names and numbers (nothing the
    # patient wrote).
    together = []
    first = (
        AppointmentRequest.objects.filter(pk=number).first() if isinstance(number, int) else None
    )
    if first is not None and first.together is not None:
        together = first.sent_together()
    context = {"target": target, "kind": kind, "number": number, "together": together}
    return render(request, "appointments/request_sent.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def confirm_address(request: HttpRequest, token: str) -> HttpResponse:
    """The page a practice reaches from the link sent to a new address: GET shows what is being
    confirmed, the button POSTs the confirmation (mail scanners follow links, they do not press
    buttons). A broken, expired or used link gets a page that says so."""
    try:
        change = recipients.change_for(token)
    except signing.SignatureExpired:
        return _address_problem(request, "expired")
    except (signing.BadSignature, RecipientChange.DoesNotExist, ValueError, TypeError):
        return _address_problem(request, "invalid")
    context = {"change": change, "listing": change.listing}
    if request.method == "POST":
        if not recipients.confirm(change):
            return _address_problem(request, "used", change)
        return render(request, "appointments/address_confirmed.html", context)
    if change.state != RecipientChange.State.AWAITING_CONFIRMATION:
        return _address_problem(request, "used", change)
    return render(request, "appointments/address_confirm.html", context)


def _address_problem(request: HttpRequest, problem: str, change=None) -> HttpResponse:
    context = {"problem": problem, "change": change, "listing": change.listing if change else None}
    status = 410 if problem == "expired" else 400 if problem == "invalid" else 409
    return render(request, "appointments/address_problem.html", context, status=status)


# --- The conversation after a request (appointments/conversation.py) ---------------------------

LINK_PROBLEM_STATUS = {"invalid": 400, "expired": 410, "revoked": 410, "gone": 410, "used": 409}


def _link_problem(request: HttpRequest, problem: str) -> HttpResponse:
    context = {"problem": problem, "days": settings.APPOINTMENT_RETENTION_DAYS}
    return render(
        request,
        "appointments/link_problem.html",
        context,
        status=LINK_PROBLEM_STATUS[problem],
    )


def _colleagues(target: Specialist | Clinic):
    """Whom a practice can suggest instead: the published specialists of the clinics the
    specialist works at (or of the clinic), the specialist excluded."""
    if isinstance(target, Specialist):
        clinics = target.affiliations.values("clinic")
        people = Specialist.objects.exclude(pk=target.pk)
    else:
        clinics = [target.pk]
        people = Specialist.objects.all()
    return (
        people.published()
        .filter(affiliations__clinic__in=clinics, affiliations__clinic__status="published")
        .distinct()
        .order_by("family_name", "given_name", "id")
    )


def _conversation_context(visit: conversation.Visit) -> dict:
    appointment = visit.request
    answers = list(appointment.answers.select_related("colleague"))
    others, others_url = [], ""
    if visit.side == conversation.Side.PATIENT and appointment.escalated_at is not None:
        others, others_url = reminders.alternatives(appointment)
    return {
        "others": others,
        "others_url": others_url,
        "documents": documents_for(appointment.condition),
        "residence": dict(countries()).get(appointment.residence, appointment.residence),
        "interpreter": language_name(appointment.interpreter) if appointment.interpreter else "",
        "visit": visit,
        "appointment": appointment,
        "target": appointment.target,
        "answers": answers,
        "practice_answered": any(entry.side == conversation.Side.PRACTICE for entry in answers),
        "agreed": conversation.agreed_time(appointment),
        "language": language_name(appointment.preferred_language),
        "link_days": settings.APPOINTMENT_LINK_DAYS,
        "days": settings.APPOINTMENT_RETENTION_DAYS,
    }


def _conversation_page(
    request: HttpRequest, token: str, side: str, forms_for, template: str
) -> HttpResponse:
    """The page behind a side's link. GET shows the request and (when the link may still act)
    the forms; POST records one answer, or returns the forms with their errors (400). A link
    that has acted already gets 409 and the page as it is now."""
    try:
        visit = conversation.open_link(token, side)
    except conversation.LinkError as problem:
        return _link_problem(request, problem.problem)
    if side == conversation.Side.PRACTICE and _opened_by_a_person(request):
        conversation.mark_read(visit.request)
    forms = forms_for(visit, None)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in forms or not visit.may_act:
            # An answer this side gives, but not now (used link, nothing to answer yet): 409.
            status = 409 if action in conversation.KINDS[side] else 400
        else:
            forms[action] = form = forms_for(visit, request.POST)[action]
            if form.is_valid():
                entry = conversation.answer(visit, action, **_answer_values(action, form))
                if entry is None:
                    status = 409
                elif side == conversation.Side.PATIENT and visit.request.together is not None:
                    # Requests sent together: the page goes on acting on the others.
                    value = conversation.token(visit.request, side, issued=visit.issued)
                    url = reverse("appointments:follow", args=[value])
                    return redirect(f"{url}?done={action}")
                else:
                    return redirect(f"{request.path}?done={action}")
            else:
                status = 400
    context = _conversation_context(visit)
    context.update(forms=forms, done=request.GET.get("done", ""), refused=status == 409)
    if side == conversation.Side.PATIENT and visit.request.together is not None:
        context["threads"] = _threads(visit, forms)
    return render(request, template, context, status=status)


def _opened_by_a_person(request: HttpRequest) -> bool:
    """A practice's page counts as read when someone opened it in a browser (a navigation the
    user started, as browsers say with Sec-Fetch-User), or answered on it: mail scanners that
    fetch every link in an email do not mark a request read."""
    if request.method == "POST":
        return True
    return (
        request.headers.get("Sec-Fetch-Mode") == "navigate"
        and request.headers.get("Sec-Fetch-User") == "?1"
    )


def _answer_values(action: str, form) -> dict:
    kind = conversation.Kind
    if action == kind.PROPOSAL:
        return {"times": form.times, "text": form.cleaned_data["note"]}
    if action == kind.QUESTION:
        return {"text": form.cleaned_data["question"]}
    if action == kind.DECLINE:
        return {"text": form.cleaned_data["reason"], "colleague": form.cleaned_data["colleague"]}
    if action == kind.ACCEPT:
        return {"times": [form.chosen]}
    return {"text": form.cleaned_data["reply"]}


def _practice_forms(visit: conversation.Visit, data) -> dict:
    kind = conversation.Kind
    if not visit.may_act:
        return {}
    return {
        kind.PROPOSAL: ProposalForm(data),
        kind.QUESTION: QuestionForm(data),
        kind.DECLINE: DeclineForm(data, colleagues=_colleagues(visit.request.target)),
    }


def _patient_forms(visit: conversation.Visit, data) -> dict:
    kind = conversation.Kind
    if not visit.may_act or not conversation.practice_has_answered(visit.request):
        return {}  # the patient answers the practice, once it has written
    # The requests of a second opinion sent together share a page: each one's fields are
    # named after it.
    prefix = f"r{visit.request.pk}" if visit.request.together is not None else None
    forms = {}
    times = conversation.proposed_times(visit.request)
    if times:
        forms[kind.ACCEPT] = AcceptForm(data, times=times, prefix=prefix)
    forms[kind.REPLY] = ReplyForm(data, prefix=prefix)
    return forms


def _threads(visit: conversation.Visit, forms: dict) -> list[dict]:
    """A second opinion sent to several specialists, for the patient's page: each request with
    its answers and its forms, side by side. The patient's latest link to any of them acts on
    all: each one's forms post to a link of its own at its current step (acting once, as any
    link, and expiring with the link visited); the one visited keeps the forms just posted,
    with their errors. An older link shows them without forms."""
    threads = []
    current_link = visit.step == visit.request.step
    for member in visit.request.sent_together():
        answers = list(member.answers.select_related("colleague"))
        others, others_url = [], ""
        if member.escalated_at is not None and not answers:
            others, others_url = reminders.alternatives(member)
        if member.pk == visit.request.pk:
            member, action, member_forms = visit.request, "", forms
        elif current_link:
            current = conversation.Visit(member, visit.side, member.step, visit.issued)
            member_forms = _patient_forms(current, None)
            value = conversation.token(member, visit.side, issued=visit.issued)
            action = reverse("appointments:follow", args=[value])
        else:
            action, member_forms = "", {}
        threads.append(
            {
                "request": member,
                "target": member.target,
                "answers": answers,
                "agreed": conversation.agreed_time(member),
                "practice_answered": any(e.side == conversation.Side.PRACTICE for e in answers),
                "forms": member_forms,
                "action": action,
                "others": others,
                "others_url": others_url,
            }
        )
    return threads


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
def practice_page(request: HttpRequest, token: str) -> HttpResponse:
    """The practice reads the request behind its link, and answers: proposes dates, asks for
    more information, or declines (naming a colleague if it likes)."""
    return _conversation_page(
        request,
        token,
        conversation.Side.PRACTICE,
        _practice_forms,
        "appointments/practice_page.html",
    )


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
def patient_page(request: HttpRequest, token: str) -> HttpResponse:
    """The patient follows the request behind their link: sent, read, answered; accepts a
    proposed date with one click, or replies."""
    return _conversation_page(
        request,
        token,
        conversation.Side.PATIENT,
        _patient_forms,
        "appointments/patient_page.html",
    )


# --- Booking a free slot (appointments/bookings.py) --------------------------------------------


def _slot_or_404(slot_id: int):
    """A slot still to come of a published listing, with what its page shows. One query."""
    found = (
        bookings.slots()
        .select_related("clinic", "location", "affiliation__specialist")
        .filter(pk=slot_id)
        .first()
    )
    if found is None:
        raise Http404("No such slot")
    return found


def _next_free(slot) -> list:
    """The next free times of the slot's place of work (or, for a clinic's own slot, of the
    clinic). One query."""
    if slot.affiliation_id:
        return availability.upcoming(affiliations=[slot.affiliation_id])
    return availability.upcoming(clinic=slot.clinic_id)


def _booking_context(slot, form) -> dict:
    target = bookings.target_of(slot)
    return {
        "slot": slot,
        "target": target,
        "form": form,
        "minutes": settings.BOOKING_HOLD_MINUTES,
        "retention_days": settings.APPOINTMENT_RETENTION_DAYS,
        "crumbs": [
            seo.home_crumb(),
            seo.Crumb(str(target), target.get_absolute_url()),
            seo.Crumb(_("Book an appointment")),
        ],
    }


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, slot_id: int) -> HttpResponse:
    """A free slot's booking page: who, where, when and the form. POST holds the slot and
    redirects to the page that asks the patient to confirm by email. A slot that was just taken
    (held or booked by someone else) shows the next free times of the same place of work, the
    form keeping what was typed (409 after a POST). A slot the practice books in its own system
    sends the patient there (its booking-deep-link, 302) or shows its booking phone. Past,
    unknown and unpublished slots are 404."""
    slot = _slot_or_404(slot_id)
    if url := bookings.deep_link(slot):
        return redirect(url)
    target = bookings.target_of(slot)
    if slot.booking_url or slot.booking_phone:
        # Booked by the practice itself, by phone (or at an address we do not send anyone to).
        context = _booking_context(slot, None)
        context["phone"] = slot.booking_phone or slot.location.phone
        return render(request, "appointments/booking_form.html", context)
    status = 200
    if request.method == "POST":
        form = BookingForm(request.POST, target=target)
        if slot.is_free():
            verdict = rate_limits.hit(
                "booking",
                request,
                limit=settings.APPOINTMENT_REQUESTS_PER_HOUR,
                window=RATE_LIMIT_WINDOW,
            )
            if verdict.over:
                response = render(
                    request, "appointments/request_limited.html", {"target": target}, status=429
                )
                response["Retry-After"] = str(verdict.retry_after)
                return response
            if form.is_valid():
                if form.is_spam or bookings.hold(slot.pk, form.save()) is not None:
                    return redirect(reverse("appointments:book-held", args=[slot.pk]))
            else:
                status = 400
        if status != 400:
            status = 409  # taken: before the POST, or by another patient a moment ago
    else:
        form = BookingForm(target=target)
    context = _booking_context(slot, form)
    if status == 409 or not slot.is_free():
        context.update(taken=True, next_free=_next_free(slot))
    return render(request, "appointments/booking_form.html", context, status=status)


@never_cache
@require_http_methods(["GET"])
def book_held(request: HttpRequest, slot_id: int) -> HttpResponse:
    """After the form: the slot is held; the email's link confirms it. Nothing of what was
    typed."""
    slot = _slot_or_404(slot_id)
    return render(request, "appointments/booking_held.html", _booking_context(slot, None))


def _booking_page(request: HttpRequest, token: str, purpose: str) -> HttpResponse:
    """The patient's pages behind the emails' links: GET shows the booking and a button, POST
    confirms (or cancels) it. A slot taken meanwhile gets the next free times (409)."""
    try:
        booking = bookings.open_link(token, purpose)
    except conversation.LinkError as problem:
        return _link_problem(request, problem.problem)
    outcome, status = "", 200
    if request.method == "POST":
        act = bookings.confirm if purpose == "confirm" else bookings.cancel
        outcome = act(booking.pk)
        booking.refresh_from_db()
        done = {bookings.Outcome.BOOKED, bookings.Outcome.CANCELLED}
        status = 200 if outcome in done and outcome == _wanted(purpose) else 409
    context = {
        "booking": booking,
        "target": booking.target,
        "purpose": purpose,
        "outcome": outcome,
        "minutes": settings.BOOKING_HOLD_MINUTES,
    }
    if outcome == bookings.Outcome.TAKEN or (
        purpose == "confirm" and not outcome and _taken_by_another(booking)
    ):
        context.update(taken=True, next_free=_next_free_of(booking))
    return render(request, "appointments/booking_page.html", context, status=status)


def _wanted(purpose: str) -> str:
    return bookings.Outcome.BOOKED if purpose == "confirm" else bookings.Outcome.CANCELLED


def _taken_by_another(booking: Booking) -> bool:
    """Whether the confirm page should say at once that the slot has gone to someone else."""
    if booking.status not in {Booking.Status.HELD, Booking.Status.EXPIRED}:
        return False
    if booking.slot is None or booking.slot.start <= timezone.now():
        return True
    if booking.slot.is_free():
        return False
    return booking.status != Booking.Status.HELD or booking.hold_until <= timezone.now()


def _next_free_of(booking: Booking) -> list:
    if booking.slot is not None:
        return _next_free(booking.slot)
    if booking.specialist_id:
        return availability.upcoming(
            affiliations=booking.specialist.affiliations.filter(clinic=booking.clinic_id)
        )
    return availability.upcoming(clinic=booking.clinic_id)


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
def booking_confirm(request: HttpRequest, token: str) -> HttpResponse:
    return _booking_page(request, token, "confirm")


@never_cache
@require_http_methods(["GET", "POST"])
def booking_cancel(request: HttpRequest, token: str) -> HttpResponse:
    return _booking_page(request, token, "cancel")


@never_cache
@require_http_methods(["GET"])
def booking_practice(request: HttpRequest, token: str) -> HttpResponse:
    """The practice's page about a booking, behind the link of its emails: who, when, where,
    why. Health data: only here, never in the email."""
    try:
        booking = bookings.open_link(token, "practice")
    except conversation.LinkError as problem:
        return _link_problem(request, problem.problem)
    context = {
        "booking": booking,
        "target": booking.target,
        "language": language_name(booking.preferred_language),
    }
    return render(request, "appointments/booking_practice.html", context)


# --- The practice's weekly times (appointments/weekly_link.py) ----------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def weekly_times(request: HttpRequest, token: str) -> HttpResponse:
    """The practice enters its weekly times and the days without slots behind its link. POST
    saves both lists and makes the slots, then shows the page again (saved=1); with an error,
    nothing is saved and the page comes back with everything as typed and the errors beside
    their rows (400). A bad, expired or withdrawn link gets a page that says so."""
    try:
        template = weekly_link.open_link(token)
    except conversation.LinkError as problem:
        context = {"problem": problem.problem, "days": settings.APPOINTMENT_LINK_DAYS}
        return render(
            request,
            "appointments/weekly_times_problem.html",
            context,
            status=LINK_PROBLEM_STATUS[problem.problem],
        )
    data = request.POST if request.method == "POST" else None
    times = PracticeTimesFormSet(data, instance=template, prefix="times")
    exceptions = PracticeExceptionsFormSet(data, instance=template, prefix="days")
    status = 200
    if data is not None:
        if times.is_valid() and exceptions.is_valid():
            with transaction.atomic():
                times.save()
                exceptions.save()
                template.save(update_fields=["modified"])
                weekly.regenerate(template.pk)
            return redirect(f"{request.path}?saved=1")
        status = 400
    context = {
        "template": template,
        "listing": template.listing,
        "location": template.location,
        "times": times,
        "exceptions": exceptions,
        "saved": request.GET.get("saved") == "1" and data is None,
        "weeks": settings.SLOT_WEEKS_AHEAD,
        "days": settings.APPOINTMENT_LINK_DAYS,
    }
    return render(request, "appointments/weekly_times.html", context, status=status)
