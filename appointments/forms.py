"""The appointment request form and its consent text."""

from django import forms
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from appointments.models import AppointmentRequest
from directory.models import LANGUAGE_CODES, Clinic, Specialist, language_name


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
