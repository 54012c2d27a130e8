"""The appointment request form and its consent text."""

from datetime import datetime, timedelta

from babel import Locale
from django import forms
from django.conf import settings
from django.forms.utils import from_current_timezone
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from appointments.models import AppointmentRequest, Booking
from core import languages
from directory.models import LANGUAGE_CODES, Clinic, Condition, Specialist, language_name

Kind = AppointmentRequest.Kind

# The fields each kind of request asks for, beyond name, email, phone, message and language.
KIND_FIELDS = {
    Kind.APPOINTMENT: ["condition", "insurance_status", "interpreter"],
    Kind.SECOND_OPINION: ["condition", "insurance_status", "residence", "interpreter"],
    Kind.COST_ESTIMATE: [
        "condition",
        "residence",
        "insurance_status",
        "interpreter",
        "travel_from",
        "travel_until",
    ],
}
# ... and of those, the ones it cannot do without.
# (An appointment asks nothing more of anyone than before; a second opinion needs the condition
# when the listing names any.)
KIND_REQUIRED = {
    Kind.APPOINTMENT: set(),
    Kind.SECOND_OPINION: {"condition"},
    Kind.COST_ESTIMATE: {"residence", "insurance_status"},
}
DATE_INPUT = "%Y-%m-%d"  # what <input type="date"> sends
# A second opinion may go to this many specialists at once (the listing and up to two more).
SECOND_OPINION_RECIPIENTS = 3
# How many specialists for the condition the form offers to add (those chosen are always shown).
SECOND_OPINION_CHOICES = 12


def kind_of(value: str) -> str:
    """A kind from a form or a link; an unknown one is an appointment."""
    return value if value in Kind.values else Kind.APPOINTMENT


def countries() -> list[tuple[str, str]]:
    """Every country, named in the page's language (Babel's CLDR data), Germany, Austria and
    Switzerland first."""
    locale = Locale.parse(translation.get_language() or settings.LANGUAGE_CODE, sep="-")
    names = {
        code: name
        for code, name in locale.territories.items()
        if len(code) == 2 and code.isalpha() and code not in {"ZZ", "EU", "EZ", "UN", "QO"}
    }
    first = [(code, names[code]) for code in ("DE", "AT", "CH")]
    rest = sorted(
        ((code, name) for code, name in names.items() if code not in {"DE", "AT", "CH"}),
        key=lambda choice: _sort_key(choice[1]),
    )
    return first + rest


def _sort_key(name: str) -> str:
    from directory.places import fold

    return fold(str(name))


def conditions_of(target: Specialist | Clinic):
    """The public conditions the listing treats (a clinic: those of its specialists)."""
    if isinstance(target, Specialist):
        found = Condition.objects.filter(specialistcondition__specialist=target)
    else:
        found = Condition.objects.filter(
            specialistcondition__specialist__affiliations__clinic=target,
            specialistcondition__specialist__status="published",
        )
    return found.public().distinct().order_by(f"name_{_language()}", "id")


def second_opinion_candidates(condition: Condition, target: Specialist | Clinic):
    """Every published specialist who lists the condition, but the listing asked: whom a second
    opinion may go to as well. Each has `city`, their primary location's town. Ordered for the
    form: those for whom the condition comes first in their focus, then those taking new
    patients, then by name."""
    from django.db.models import Min, OuterRef, Subquery

    from directory.models import Affiliation

    town = Affiliation.objects.filter(specialist=OuterRef("pk")).order_by("-is_primary", "id")
    people = Specialist.objects.published().filter(specialistcondition__condition=condition)
    if isinstance(target, Specialist):
        people = people.exclude(pk=target.pk)
    return people.annotate(
        city=Subquery(town.values("location__city")[:1]),
        focus=Min("specialistcondition__position"),
    ).order_by("focus", "-accepts_new_patients", "family_name", "given_name", "id")


def _language() -> str:
    return languages.current()


def documents_for(condition: Condition | None) -> list[str]:
    """What to have ready when asking about the condition (its "documents to have ready", which
    its article shows too), in the page's language."""
    return condition.document_list if condition is not None else []


def _is_number(value) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit() and len(text) <= 18


class _Recipients(forms.MultipleChoiceField):
    """Specialists' ids; which ones may be chosen is the form's to say (clean_also)."""

    def valid_value(self, value) -> bool:
        return True


def offer_languages(field: forms.ChoiceField, target: Specialist | Clinic) -> None:
    """The languages spoken at the listing (all the site's when it names none), the page's
    language chosen if spoken there, else German, the language of most practices."""
    codes = [c for c in getattr(target, "languages", []) if c in LANGUAGE_CODES]
    codes = codes or [code for code, _name in settings.LANGUAGES]
    current = translation.get_language()
    field.choices = sorted(
        ((code, language_name(code)) for code in codes), key=lambda choice: choice[1]
    )
    fallback = "de" if "de" in codes else field.choices[0][0]
    field.initial = current if current in codes else fallback


def consent_field() -> forms.BooleanField:
    """The consent to storing and passing on health data; its label is consent_text()."""
    return forms.BooleanField(
        required=True,
        error_messages={"required": _("Please agree, so that we may pass on your request.")},
    )


def honeypot_field() -> forms.CharField:
    """Hidden from people and from autofill, filled by bots (the form's `is_spam`)."""
    return forms.CharField(required=False, label=_("Leave this field empty"))


class AppointmentRequestForm(forms.ModelForm):
    """What a patient fills in, for the kind of request (KIND_FIELDS; the kind comes from the
    link to the form and goes back with it, an unknown one is an appointment). `leave_empty` is
    a honeypot: hidden from people and from autofill, filled by bots."""

    preferred_language = forms.ChoiceField(label=_("Preferred language for the reply"))
    condition = forms.ChoiceField(label=_("Condition or treatment"), required=False)
    residence = forms.ChoiceField(label=_("Country where you live"), required=False)
    insurance_status = forms.ChoiceField(
        label=_("How you are insured"),
        choices=[("", _("Please choose")), *AppointmentRequest.InsuranceStatus.choices],
        required=False,
    )
    interpreter = forms.ChoiceField(label=_("Interpreter"), required=False)
    travel_from = forms.DateField(
        label=_("Travelling from (optional)"),
        required=False,
        input_formats=[DATE_INPUT, "%d.%m.%Y"],
        error_messages={"invalid": _("Please enter a date such as 2027-03-04.")},
    )
    travel_until = forms.DateField(
        label=_("Travelling until (optional)"),
        required=False,
        input_formats=[DATE_INPUT, "%d.%m.%Y"],
        error_messages={"invalid": _("Please enter a date such as 2027-03-04.")},
    )
    consent = consent_field()
    leave_empty = honeypot_field()
    # A second opinion's further recipients (specialists' ids), ticked on the form; "Update the
    # recipients" shows the form again with the consent naming them.
    also = _Recipients(label=_("Also sent to"), required=False, widget=forms.MultipleHiddenInput)
    named = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)

    class Meta:
        model = AppointmentRequest
        fields = [
            "name",
            "email",
            "phone",
            "condition",
            "residence",
            "insurance_status",
            "interpreter",
            "travel_from",
            "travel_until",
            "message",
            "preferred_language",
        ]
        widgets = {"message": forms.Textarea(attrs={"rows": 6, "maxlength": 2000})}
        error_messages = {
            "name": {"required": _("Please enter your name.")},
            "email": {
                "required": _("Please enter your email address, so the practice can reply."),
                "invalid": _("Please enter an email address like name@example.org."),
            },
            "message": {"required": _("Please tell the practice what the appointment is for.")},
        }

    REQUIRED_MESSAGES = {
        "condition": _("Please choose the condition your findings are about."),
        "residence": _("Please choose the country where you live."),
        "insurance_status": _("Please say how you are insured."),
    }

    def __init__(
        self,
        *args,
        target: Specialist | Clinic,
        kind: str = Kind.APPOINTMENT,
        also=(),
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.target = target
        self.kind = kind_of(self.data.get("kind", kind) if self.is_bound else kind)
        offer_languages(self.fields["preferred_language"], target)
        # One query; the choices are slugs, as in the form's link (?condition=<slug>).
        self.conditions = {c.slug: c for c in conditions_of(target)}
        # A second opinion's further recipients: the candidates for the chosen condition, the
        # ones asked for (ids, as sent) and, if possible, those specialists (None: not possible,
        # and the form says why). The consent names them; `named` says whom it named.
        self.candidates: list[Specialist] = []
        self.wanted: list[int] = []
        self.together: list[Specialist] | None = []
        if self.kind == Kind.SECOND_OPINION:
            wanted = self.data.getlist("also") if self.is_bound else list(also)
            slug = self.data.get("condition") if self.is_bound else self.initial.get("condition")
            condition = self.conditions.get(slug or "")
            if condition is not None:
                chosen = second_opinion_candidates(condition, target)
                self.candidates = list(chosen[:SECOND_OPINION_CHOICES])
            self.wanted = [int(v) for v in wanted if _is_number(v)]
            self.together = self._recipients(wanted, condition)
            self.candidates += [p for p in self.together or () if p not in self.candidates]
        else:
            del self.fields["also"]
            del self.fields["named"]
        self.fields["consent"].label = consent_text(target, *(self.together or ()))
        self.fields["condition"].choices = [
            ("", _("Other, or not sure")),
            *((slug, str(c)) for slug, c in self.conditions.items()),
        ]
        self.fields["residence"].choices = [("", _("Please choose")), *countries()]
        self.fields["interpreter"].choices = [
            ("", _("No interpreter needed")),
            *sorted(
                ((code, language_name(code)) for code in LANGUAGE_CODES),
                key=lambda choice: _sort_key(choice[1]),
            ),
        ]
        shown = set(KIND_FIELDS[self.kind])
        for name in {"condition", "residence", "insurance_status", "interpreter"} | {
            "travel_from",
            "travel_until",
        }:
            if name not in shown:
                del self.fields[name]
        for name in KIND_REQUIRED[self.kind]:
            if name == "condition" and not self.conditions:
                continue
            self.fields[name].required = True
            self.fields[name].error_messages["required"] = self.REQUIRED_MESSAGES[name]

    def _recipients(self, wanted, condition: Condition | None) -> list[Specialist] | None:
        """The specialists `wanted` (ids, as sent) if each may receive this second opinion as
        well: published, listing the condition, not the listing asked, at most two more."""
        ids = []
        for value in filter(None, wanted):
            if not _is_number(value):
                return None
            if int(value) not in ids:
                ids.append(int(value))
        if not ids:
            return []
        if condition is None or len(ids) > SECOND_OPINION_RECIPIENTS - 1:
            return None
        known = {p.pk: p for p in self.candidates}
        missing = [pk for pk in ids if pk not in known]
        if missing:
            found = second_opinion_candidates(condition, self.target).filter(pk__in=missing)
            known.update((p.pk, p) for p in found)
        if any(pk not in known for pk in ids):
            return None
        return [known[pk] for pk in ids]

    @property
    def named_ids(self) -> str:
        """Whom the consent on this page names, besides the listing (ids), sent back with it."""
        return ",".join(str(p.pk) for p in self.together or ())

    def clean_also(self):
        if self.together is None:
            more = SECOND_OPINION_RECIPIENTS - 1
            raise forms.ValidationError(
                ngettext(
                    "You can add %(more)s more specialist who treats the condition you chose. "
                    "Please choose again.",
                    "You can add up to %(more)s more specialists who treat the condition you "
                    "chose. Please choose again.",
                    more,
                )
                % {"more": more},
                code="recipients",
            )
        return self.together

    def clean_named(self):
        """The consent given names exactly the recipients sent: a change of the choice after
        the page was shown (without "Update the recipients") needs the consent again."""
        named = sorted(v for v in self.cleaned_data.get("named", "").split(",") if v)
        if self.together is not None and named != sorted(str(p.pk) for p in self.together):
            self.add_error(
                "consent",
                _(
                    "You changed who receives your request. Please read the consent again and "
                    "agree."
                ),
            )
        return named

    @property
    def shown_fields(self) -> list:
        """The kind's own fields, bound, in order."""
        return [self[name] for name in KIND_FIELDS[self.kind]]

    def clean_condition(self):
        return self.conditions.get(self.cleaned_data.get("condition") or "")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("travel_from"), cleaned.get("travel_until")
        today = timezone.localdate()
        if start and start < today:
            self.add_error("travel_from", _("Please give a date that has not passed."))
        for name in ("travel_from", "travel_until"):
            value = cleaned.get(name)
            if value and value > today + PROPOSE_WITHIN:
                self.add_error(name, _("Please give a date within the next two years."))
        if start and end and end < start:
            self.add_error("travel_until", _("Please give a date after the first one."))
        return cleaned

    @property
    def is_spam(self) -> bool:
        """A filled honeypot: the sender gets the thank-you page, nothing is stored."""
        return bool(self.cleaned_data.get("leave_empty"))

    def save(self, commit: bool = True) -> AppointmentRequest:
        request = super().save(commit=False)
        request.kind = self.kind
        if isinstance(self.target, Specialist):
            request.specialist = self.target
        else:
            request.clinic = self.target
        request.consent_at = timezone.now()
        request.site_language = translation.get_language() or settings.LANGUAGE_CODE
        if commit:
            request.save()
        return request


def consent_text(*targets: Specialist | Clinic) -> str:
    """The consent, naming each recipient of the request."""
    days = settings.APPOINTMENT_RETENTION_DAYS
    return _(
        "I agree that Specialist Atlas stores my request and passes it on to %(name)s so that "
        "they can contact me about an appointment. My request may contain information about my "
        "health. It is deleted after %(days)s days, and I can ask for it to be deleted earlier "
        "at any time."
    ) % {"name": names(targets), "days": days}


def names(listings) -> str:
    """ "A", "A and B", "A, B and C", in the page's language (Babel's CLDR list patterns)."""
    from babel.lists import format_list

    language = translation.get_language() or settings.LANGUAGE_CODE
    return format_list([str(listing) for listing in listings], locale=language.split("-")[0])


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


class LocalDateTimeField(forms.DateTimeField):
    """A date and time as a datetime-local input sends it, in the site's time zone: only the
    input formats, never ISO 8601 with an offset (which could name a moment PostgreSQL stores
    but cannot give back)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        for pattern in self.input_formats:
            try:
                moment = datetime.strptime(text, pattern)  # noqa: DTZ007 - made aware below
            except (ValueError, TypeError):
                continue
            return from_current_timezone(moment)
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


def _time(label, *, required: bool) -> forms.DateTimeField:
    return LocalDateTimeField(
        label=label,
        required=required,
        input_formats=[DATETIME_INPUT, "%Y-%m-%d %H:%M"],
        error_messages={"invalid": _("Please enter a date and time such as 2027-03-04 09:30.")},
    )


# How far ahead a practice may propose a date.
PROPOSE_WITHIN = timedelta(days=2 * 365)


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
            elif value is not None and value > now + PROPOSE_WITHIN:
                self.add_error(name, _("Please propose a date within the next two years."))
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


class BookingForm(forms.ModelForm):
    """What a patient gives to book a free slot: name, email, phone, the reason and the
    preferred language, with the consent and the honeypot of the request form."""

    preferred_language = forms.ChoiceField(label=_("Preferred language"))
    consent = consent_field()
    leave_empty = honeypot_field()

    class Meta:
        model = Booking
        fields = ["name", "email", "phone", "reason", "preferred_language"]
        widgets = {"reason": forms.Textarea(attrs={"rows": 4, "maxlength": 2000})}
        error_messages = {
            "name": {"required": _("Please enter your name.")},
            "email": {
                "required": _("Please enter your email address: the link to confirm goes there."),
                "invalid": _("Please enter an email address like name@example.org."),
            },
            "phone": {
                "required": _("Please enter a phone number, in case the practice must reach you.")
            },
            "reason": {"required": _("Please tell the practice what the appointment is for.")},
        }

    def __init__(self, *args, target: Specialist | Clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        offer_languages(self.fields["preferred_language"], target)
        self.fields["consent"].label = consent_text(target)

    @property
    def is_spam(self) -> bool:
        return bool(self.cleaned_data.get("leave_empty"))

    def save(self, commit: bool = False) -> Booking:
        """The booking, unsaved: appointments.bookings.hold() stores it with its slot."""
        booking = super().save(commit=False)
        booking.consent_at = timezone.now()
        booking.site_language = translation.get_language() or settings.LANGUAGE_CODE
        return booking
