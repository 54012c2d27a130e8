"""'Something wrong?': a visitor reports a wrong fact on a profile or clinic page, and the report
lands in the editors' queue (admin, FactReport). The form asks for what is wrong and, only if
the visitor wants an answer, an email address; nothing else about the visitor is kept (no
address, no browser), and nothing of what they wrote reaches a log."""

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from core import rate_limits
from directory.models import FACT_REPORT_MAX_LENGTH, Clinic, FactReport, Specialist, Status

RATE_LIMIT_WINDOW = 60 * 60  # FACT_REPORTS_PER_HOUR counts per hour

# The facts a clinic page shows (a profile shows them all).
CLINIC_FACTS = {
    FactReport.Fact.HOURS,
    FactReport.Fact.ACCESSIBILITY,
    FactReport.Fact.CERTIFICATIONS,
    FactReport.Fact.CONTACT,
    FactReport.Fact.OTHER,
}


class FactReportForm(forms.ModelForm):
    """`leave_empty` is a honeypot, as on the request form: a bot fills it, a person never sees
    it; such a report is thanked for and stored nowhere."""

    leave_empty = forms.CharField(required=False, label=_("Leave this field empty"))

    class Meta:
        model = FactReport
        fields = ["fact", "message", "email"]
        labels = {
            "fact": _("What is wrong?"),
            "message": _("What should it say instead?"),
            "email": _("Your email address (optional)"),
        }
        help_texts = {
            "message": _(
                "Please do not write anything about your health: this goes to the editors "
                "of the directory, not to the practice."
            ),
            "email": _("Only if you would like an answer. We use it for nothing else."),
        }
        widgets = {"message": forms.Textarea(attrs={"rows": 5})}
        error_messages = {
            "fact": {"required": _("Please choose what is wrong.")},
            "message": {"required": _("Please tell us what is wrong.")},
            "email": {"invalid": _("Please enter an email address such as name@example.org.")},
        }

    def __init__(self, *args, listing, **kwargs):
        super().__init__(*args, **kwargs)
        self.listing = listing
        choices = FactReport.Fact.choices
        if isinstance(listing, Clinic):
            choices = [(value, label) for value, label in choices if value in CLINIC_FACTS]
        self.fields["fact"].choices = [("", _("Please choose")), *choices]
        self.fields["message"].max_length = FACT_REPORT_MAX_LENGTH

    def clean_message(self) -> str:
        message = self.cleaned_data["message"].strip()
        if not message:
            raise forms.ValidationError(_("Please tell us what is wrong."))
        return message

    @property
    def is_spam(self) -> bool:
        return bool(self.cleaned_data.get("leave_empty"))

    def save(self, commit: bool = True) -> FactReport:
        report = super().save(commit=False)
        if isinstance(self.listing, Specialist):
            report.specialist = self.listing
        else:
            report.clinic = self.listing
        if commit:
            report.save()
        return report


@require_http_methods(["GET", "HEAD", "POST"])
def specialist_report(request: HttpRequest, slug: str) -> HttpResponse:
    return _report(request, get_object_or_404(Specialist, slug=slug, status=Status.PUBLISHED))


@require_http_methods(["GET", "HEAD", "POST"])
def clinic_report(request: HttpRequest, slug: str) -> HttpResponse:
    return _report(request, get_object_or_404(Clinic, slug=slug, status=Status.PUBLISHED))


def _report(request: HttpRequest, listing) -> HttpResponse:
    """GET: the form (or, with ?sent=1, the thanks); POST: check, store, redirect to the thanks.
    Many reports from one client within the hour get 429."""
    context = {"listing": listing, "sent": request.GET.get("sent") == "1"}
    if request.method == "POST":
        verdict = rate_limits.hit(
            "fact-report", request, limit=settings.FACT_REPORTS_PER_HOUR, window=RATE_LIMIT_WINDOW
        )
        if verdict.over:
            response = render(request, "directory/report_limited.html", context, status=429)
            response["Retry-After"] = str(verdict.retry_after)
            return response
        form = FactReportForm(request.POST, listing=listing)
        if form.is_valid():
            if not form.is_spam:
                form.save()
            return redirect(f"{request.path}?sent=1")
        context["form"] = form
        return render(request, "directory/report_form.html", context, status=400)
    initial = {}
    if request.GET.get("fact") in FactReport.Fact.values:
        initial["fact"] = request.GET["fact"]
    context["form"] = FactReportForm(listing=listing, initial=initial)
    response = render(request, "directory/report_form.html", context)
    response["Cache-Control"] = "private, no-store"
    return response
