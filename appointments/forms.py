"""The appointment request form and its consent text."""

from django import forms
from django.conf import settings
from django.utils import formats, timezone, translation
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


# --- The conversation after a request (appointments/conversation.py) ---------------------------
# Field names differ between the forms, as they share one page and its element ids.

TEXT_LIMIT = 2000
DATETIME_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


def _text(label, *, required: bool, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=TEXT_LIMIT,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": _("Please write at most 2,000 characters.")},
    )


def _time(label, *, required: bool) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=[DATETIME_INPUT, "%Y-%m-%d %H:%M"],
        error_messages={"invalid": _("Please enter a date and time such as 2027-03-04 09:30.")},
    )


class ProposalForm(forms.Form):
    """The practice proposes up to three dates and times (in the site's time zone)."""

    first = _time(_("First date and time"), required=True)
    second = _time(_("Second date and time (optional)"), required=False)
    third = _time(_("Third date and time (optional)"), required=False)
    note = _text(
        _("Note for the patient (optional)"),
        required=False,
        help_text=_("For example where to come, or what to bring."),
    )

    def clean(self):
        cleaned = super().clean()
        now = timezone.now()
        for name in ("first", "second", "third"):
            value = cleaned.get(name)
            if value is not None and value <= now:
                self.add_error(name, _("Please propose a date and time in the future."))
        times = [cleaned.get(name) for name in ("first", "second", "third")]
        if len(set(filter(None, times))) < len(list(filter(None, times))):
            raise forms.ValidationError(_("Please propose each date and time once."))
        return cleaned

    @property
    def times(self) -> list:
        return sorted(
            {self.cleaned_data[n] for n in ("first", "second", "third") if self.cleaned_data[n]}
        )


class QuestionForm(forms.Form):
    """The practice asks the patient for more information."""

    question = _text(_("Your question to the patient"), required=True)


class DeclineForm(forms.Form):
    """The practice cannot offer an appointment, says why, and may name a colleague."""

    reason = _text(_("Why you cannot offer an appointment"), required=True)
    colleague = forms.ModelChoiceField(
        label=_("A colleague you suggest (optional)"),
        queryset=Specialist.objects.none(),
        required=False,
        empty_label=_("No one"),
    )

    def __init__(self, *args, colleagues, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["colleague"].queryset = colleagues


class AcceptForm(forms.Form):
    """The patient accepts one of the proposed dates."""

    choice = forms.TypedChoiceField(
        label=_("The date that suits you"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose one of the dates.")},
    )

    def __init__(self, *args, times, **kwargs):
        super().__init__(*args, **kwargs)
        self.times = times
        self.fields["choice"].choices = [
            (number, formats.date_format(timezone.localtime(value), "DATETIME_FORMAT"))
            for number, value in enumerate(times)
        ]

    @property
    def chosen(self):
        return self.times[self.cleaned_data["choice"]]


class ReplyForm(forms.Form):
    """The patient answers a question or writes to the practice."""

    reply = _text(
        _("Your reply"),
        required=True,
        help_text=_("Please give only the medical details the practice needs."),
    )
