"""The parameters of the lists: one FilterSet for every list of specialists
(the search page, condition pages and medical field pages) and one for the clinics. They declare
and validate the parameters, so a malformed value gets its error beside its field; what the
values mean is resolved once into a plan (directory.search.plan), which the rows, the results
and the facets read."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from directory.models import (
    LANGUAGE_CODES,
    Clinic,
    Country,
    Insurance,
    Service,
    SpecialistSearch,
)
from directory.search.geo import MAX_RADIUS
from directory.search.plan import Sort

MAX_QUERY_LENGTH = 200
SORT_CHOICES = (
    (Sort.RELEVANCE, _("Best match")),
    (Sort.NAME, _("Name")),
    (Sort.DISTANCE, _("Distance")),
    (Sort.EARLIEST, _("Earliest appointment")),
)


class SearchForm(forms.Form):
    """Checks that go across fields. Every error is tied to the field it is about, so the page
    shows it right beside that field. (Sorting by distance without a place is no error: the list
    keeps its results, in the best-match order, and asks for a place.)"""

    def clean(self):
        data = super().clean()
        if data.get("radius") and not data.get("city"):
            self.add_error("radius", _("Choose a city or town to search around."))
        return data


class SlugFilter(django_filters.CharFilter):
    field_class = forms.SlugField


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class LanguageCodesField(forms.MultipleChoiceField):
    """ISO 639-1 codes, checked against the set rather than a list of ~180 labelled choices
    (which every request would copy)."""

    def valid_value(self, value) -> bool:
        return value in LANGUAGE_CODES


class LanguageFilter(django_filters.MultipleChoiceFilter):
    field_class = LanguageCodesField


def _declared(queryset, name, value):
    return queryset  # the plan applies every parameter (directory.search.plan.rows)


class ListParameters(django_filters.FilterSet):
    """Validation only: the filters never run (`filter_queryset` is not used)."""

    def filter_queryset(self, queryset):
        raise NotImplementedError("The plan filters the rows: directory.search.plan.rows().")


class SpecialistFilterSet(ListParameters):
    q = django_filters.CharFilter(
        method=_declared, label=_("Name, condition or medical field"), max_length=MAX_QUERY_LENGTH
    )
    condition = SlugFilter(method=_declared, label=_("Condition or treatment"))
    specialty = SlugFilter(method=_declared, label=_("Medical field"))
    country = django_filters.MultipleChoiceFilter(
        method=_declared, label=_("Country"), choices=Country.choices
    )
    city = django_filters.CharFilter(method=_declared, label=_("City or town"), max_length=120)
    radius = IntegerFilter(method=_declared, label=_("Distance"), min_value=1, max_value=MAX_RADIUS)
    # The page labels the options itself (Babel), for the languages in the results.
    language = LanguageFilter(method=_declared, label=_("Language spoken"), choices=())
    insurance = django_filters.MultipleChoiceFilter(
        method=_declared, label=_("Insurance"), choices=Insurance.choices
    )
    service = django_filters.MultipleChoiceFilter(
        method=_declared, label=_("Consultations"), choices=Service.choices
    )
    new_patients = django_filters.ChoiceFilter(
        method=_declared,
        label=_("Accepting new patients"),
        choices=(("1", _("Only specialists accepting new patients")),),
    )
    open_now = django_filters.ChoiceFilter(
        method=_declared, label=_("Open now"), choices=(("1", _("Only practices open now")),)
    )
    saturday = django_filters.ChoiceFilter(
        method=_declared,
        label=_("Open on Saturdays"),
        choices=(("1", _("Only practices open on Saturdays")),),
    )
    step_free = django_filters.ChoiceFilter(
        method=_declared,
        label=_("Step-free access"),
        choices=(("1", _("Only practices with a step-free entrance")),),
    )
    certified = django_filters.ChoiceFilter(
        method=_declared,
        label=_("Certified centre"),
        choices=(("1", _("Only specialists at a certified centre")),),
    )
    free_soon = django_filters.ChoiceFilter(
        method=_declared,
        label=_("Free appointments"),
        choices=(("1", _("Only with a free appointment within 7 days")),),
    )
    sort = django_filters.ChoiceFilter(method=_declared, label=_("Sort by"), choices=SORT_CHOICES)
    page = IntegerFilter(method=_declared, label=_("Page"), min_value=1)

    class Meta:
        model = SpecialistSearch
        fields = []
        form = SearchForm


class ClinicFilterSet(ListParameters):
    q = django_filters.CharFilter(
        method=_declared, label=_("Name of the clinic"), max_length=MAX_QUERY_LENGTH
    )
    condition = SlugFilter(method=_declared, label=_("Condition or treatment"))
    specialty = SlugFilter(method=_declared, label=_("Medical field"))
    country = django_filters.MultipleChoiceFilter(
        method=_declared, label=_("Country"), choices=Country.choices
    )
    kind = django_filters.MultipleChoiceFilter(
        method=_declared, label=_("Kind"), choices=Clinic.Kind.choices
    )
    city = django_filters.CharFilter(method=_declared, label=_("City or town"), max_length=120)
    radius = IntegerFilter(method=_declared, label=_("Distance"), min_value=1, max_value=MAX_RADIUS)
    sort = django_filters.ChoiceFilter(
        method=_declared,
        label=_("Sort by"),
        choices=((Sort.NAME, _("Name")), (Sort.DISTANCE, _("Distance"))),
    )
    page = IntegerFilter(method=_declared, label=_("Page"), min_value=1)

    class Meta:
        model = Clinic
        fields = []
        form = SearchForm
