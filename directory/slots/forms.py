"""The forms of weekly times: the rows of a template and its days without slots, as the admin's
inlines and the practice's page (appointments, weekly_link) show them. The checks that span
rows (no two rows overlap) live in the formset, so both places report them alike."""

from django import forms
from django.forms.models import BaseInlineFormSet, inlineformset_factory
from django.utils.translation import gettext_lazy as _

from directory.slots.models import SlotException, WeeklyTemplate, WeeklyTime


class WeeklyTimeFormSet(BaseInlineFormSet):
    """Rows of one template may not overlap: the same weekday, times that cross and validity
    periods that share a day. The later row says with which."""

    def clean(self):
        super().clean()
        seen: list[WeeklyTime] = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            if form.errors:
                continue
            row = form.instance
            other = next((earlier for earlier in seen if earlier.overlaps(row)), None)
            if other is not None:
                form.add_error(
                    None,
                    _("These times overlap with %(other)s.") % {"other": other},
                )
                continue
            seen.append(row)


class SlotExceptionFormSet(BaseInlineFormSet):
    pass


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


class WeeklyTimeForm(forms.ModelForm):
    class Meta:
        model = WeeklyTime
        fields = ["weekday", "starts", "ends", "minutes", "valid_from", "valid_until"]
        widgets = {
            "starts": TimeInput,
            "ends": TimeInput,
            "valid_from": DateInput,
            "valid_until": DateInput,
        }


class SlotExceptionForm(forms.ModelForm):
    class Meta:
        model = SlotException
        fields = ["first_day", "last_day", "note"]
        widgets = {"first_day": DateInput, "last_day": DateInput}


# The practice's page: a few empty rows to fill in, deleting by ticking a box.
PracticeTimesFormSet = inlineformset_factory(
    WeeklyTemplate,
    WeeklyTime,
    form=WeeklyTimeForm,
    formset=WeeklyTimeFormSet,
    extra=3,
    can_delete=True,
    max_num=50,
    validate_max=True,
)
PracticeExceptionsFormSet = inlineformset_factory(
    WeeklyTemplate,
    SlotException,
    form=SlotExceptionForm,
    formset=SlotExceptionFormSet,
    extra=2,
    can_delete=True,
    max_num=50,
    validate_max=True,
)
