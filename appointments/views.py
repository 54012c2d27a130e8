"""The appointment request form and its thank-you page, for specialists and clinics."""

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from appointments import delivery, recipients
from appointments.forms import AppointmentRequestForm
from appointments.models import RecipientChange
from core import rate_limits
from directory import seo
from directory.models import Clinic, Specialist

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
    context = {
        "target": target,
        "kind": kind,
        "crumbs": [
            seo.home_crumb(),
            seo.Crumb(str(target), target.get_absolute_url()),
            seo.Crumb(_("Request an appointment")),
        ],
    }
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
        if form.is_valid():
            # The request's number, signed so that nobody can read others' by counting; a bot's
            # (honeypot) request is stored nowhere and gets no number.
            number = "" if form.is_spam else signing.dumps(delivery.submit(form).pk, salt=SENT)
            return redirect(f"{request.path}sent/" + (f"?r={number}" if number else ""))
    else:
        form = AppointmentRequestForm(target=target)
    context.update(
        form=form,
        retention_days=settings.APPOINTMENT_RETENTION_DAYS,
    )
    status = 400 if form.is_bound else 200
    return render(request, "appointments/request_form.html", context, status=status)


@never_cache
def appointment_sent(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    """The thank-you page with the request's number (from the signed `r`); nothing of what was
    sent."""
    target = _request_target(kind, slug)
    try:
        number = signing.loads(request.GET.get("r", ""), salt=SENT, max_age=24 * 60 * 60)
    except (signing.BadSignature, ValueError, TypeError):
        number = None
    context = {"target": target, "kind": kind, "number": number}
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
