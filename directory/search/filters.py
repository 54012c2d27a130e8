# The raw SQL here is this module's constants; values always go in as parameters.
# ruff: noqa: S611
"""The one FilterSet behind every list of specialists: the search page, condition pages and
medical field pages (SPEC sections 4 and 6). It reads SpecialistSearch, the folded flat index
that directory.search keeps up to date."""

import math
from functools import cached_property

import django_filters
from django import forms
from django.core.cache import cache
from django.db.models import BooleanField, Case, FloatField, IntegerField, Value, When
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from directory.models import (
    LANGUAGE_CODES,
    Condition,
    Country,
    Insurance,
    Place,
    SpecialistSearch,
    Specialty,
)
from directory.places import resolve_place
from directory.search import keys, text

DEFAULT_RADIUS = 25
MAX_RADIUS = 500
RADIUS_CHOICES = (5, 10, 25, 50, 100, 250, 500)
MAX_QUERY_LENGTH = 200


class Sort:
    RELEVANCE = "relevance"
    NAME = "name"
    DISTANCE = "distance"
    CHOICES = (
        (RELEVANCE, _("Best match")),
        (NAME, _("Name")),
        (DISTANCE, _("Distance")),
    )


# earthdistance's radius of the earth in metres (its earth() function).
EARTH_RADIUS = 6378168.0

# The straight-line (chord) distance in metres from the searched place to a specialist's nearest
# location: cube_distance between earthdistance points, which orders like the great-circle
# distance and costs far less. Up to three locations are compared inline.
_CHORD_SQL = """CASE WHEN cardinality(points) <= 3 THEN LEAST(
    cube_distance(ll_to_earth(%s, %s), points[1]),
    cube_distance(ll_to_earth(%s, %s), points[2]),
    cube_distance(ll_to_earth(%s, %s), points[3]))
    ELSE (SELECT min(cube_distance(ll_to_earth(%s, %s), point)) FROM unnest(points) AS point)
    END"""
# Within the radius: the exact distance decides. For a small radius, or to sort by distance, the
# GiST index on `bounds` first finds the rows whose box overlaps the box around the place
# (earth_box). A large radius holds most of the country: then walking the name index and
# checking each row's distance reaches a page sooner.
_NEARBY_SQL = f"""({_CHORD_SQL}) <= %s"""
_NEARBY_INDEXED_SQL = f"""bounds && earth_box(ll_to_earth(%s, %s), %s) AND ({_CHORD_SQL}) <= %s"""
LARGE_RADIUS = 100


def chord(metres: float) -> float:
    """The straight-line distance through the earth for a great-circle distance."""
    return 2 * EARTH_RADIUS * math.sin(min(metres / (2 * EARTH_RADIUS), math.pi / 2))


def cached_place(text: str) -> Place | None:
    """The place `city=` names; the gazetteer changes only with a migration, so the answer is
    cached for an hour (None, for an unknown name, too)."""
    key = keys.place(text)
    # In a tuple, so that None (no such place) is cached too.
    return cache.get_or_set(key, lambda: (resolve_place(text),), 60 * 60)[0]


class SearchForm(forms.Form):
    """Checks that go across fields. Every error is tied to the field it is about, so the page
    shows it right beside that field."""

    def clean(self):
        data = super().clean()
        if data.get("radius") and not data.get("city"):
            self.add_error("radius", _("Choose a city or town to search around."))
        if data.get("sort") == Sort.DISTANCE and not data.get("city"):
            self.add_error("sort", _("Sorting by distance needs a city or town."))
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


class SpecialistFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_text",
        label=_("Name, condition or medical field"),
        max_length=MAX_QUERY_LENGTH,
    )
    condition = SlugFilter(method="filter_condition", label=_("Condition or treatment"))
    specialty = SlugFilter(method="filter_specialty", label=_("Medical field"))
    country = django_filters.MultipleChoiceFilter(
        method="filter_any", label=_("Country"), choices=Country.choices
    )
    city = django_filters.CharFilter(method="filter_city", label=_("City or town"), max_length=120)
    radius = IntegerFilter(
        method="filter_nothing",
        label=_("Distance"),
        min_value=1,
        max_value=MAX_RADIUS,
    )
    # The page labels the options itself (Babel), for the languages in the results.
    language = LanguageFilter(method="filter_any", label=_("Language spoken"), choices=())
    insurance = django_filters.MultipleChoiceFilter(
        method="filter_any", label=_("Insurance"), choices=Insurance.choices
    )
    new_patients = django_filters.ChoiceFilter(
        method="filter_new_patients",
        label=_("Accepting new patients"),
        choices=(("1", _("Only specialists accepting new patients")),),
    )
    sort = django_filters.ChoiceFilter(
        method="filter_nothing", label=_("Sort by"), choices=Sort.CHOICES
    )
    page = IntegerFilter(method="filter_nothing", label=_("Page"), min_value=1)

    # The facets: parameter -> column of SpecialistSearch.
    FACETS = {
        "country": "countries",
        "specialty": "specialty_ids",
        "language": "languages",
        "insurance": "insurance",
    }

    class Meta:
        model = SpecialistSearch
        fields = []
        form = SearchForm

    def __init__(self, data=None, queryset=None, **kwargs):
        super().__init__(data, queryset=queryset, **kwargs)
        self.unknown = {}  # parameter -> the well-formed value that names nothing we know
        self.place: Place | None = None
        self.condition: Condition | None = None
        self.specialty: Specialty | None = None
        self.words = text.Words()
        self.text_conditions = None  # (match, exact, name), see text.text_filters

    # --- What the filters look up, once per request ----------------------------------------

    @cached_property
    def specialties(self) -> dict[int, Specialty]:
        """Every medical field, for the `specialty` filter, its facet and the cards; cached
        until the next change to the listings or the taxonomy."""
        return cache.get_or_set(
            keys.specialties(),
            lambda: {
                field.pk: field
                for field in Specialty.objects.only("name_en", "name_de", "slug", "parent_id")
            },
            keys.cache_seconds(),
        )

    @cached_property
    def _words(self) -> text.Words:
        """The analysed query, cached per generation (it depends on the taxonomy and the
        vocabulary, which move the generation on)."""
        typed = self.form.cleaned_data["q"]
        return cache.get_or_set(
            keys.analysed_query(typed),
            lambda: text.analyse(typed),
            keys.cache_seconds(),
        )

    @cached_property
    def _place(self) -> Place | None:
        return cached_place(self.form.cleaned_data["city"])

    @cached_property
    def _condition(self) -> Condition | None:
        return Condition.objects.filter(slug=self.form.cleaned_data["condition"]).first()

    @property
    def radius_km(self) -> int:
        return self.form.cleaned_data.get("radius") or DEFAULT_RADIUS

    # --- The filters -------------------------------------------------------------------------

    def filter_nothing(self, queryset, name, value):
        return queryset  # applied by SearchResults (sort, page) or with `city` (radius)

    def filter_any(self, queryset, name, value):
        """Options of one facet combine with OR: insurance=statutory&insurance=private lists
        specialists who take either."""
        return queryset.filter(**{f"{self.FACETS[name]}__overlap": list(value)})

    def filter_new_patients(self, queryset, name, value):
        return queryset.filter(accepts_new_patients=True)

    def filter_condition(self, queryset, name, value):
        self.condition = self._condition
        if self.condition is None:
            self.unknown[name] = value
            return queryset.none()
        return queryset.filter(condition_ids__contains=[self.condition.pk])

    def filter_specialty(self, queryset, name, value):
        self.specialty = next((f for f in self.specialties.values() if f.slug == value), None)
        if self.specialty is None:
            self.unknown[name] = value
            return queryset.none()
        # The rows list every broader field too: "Internal medicine" finds oncologists.
        return queryset.filter(specialty_ids__contains=[self.specialty.pk])

    def filter_text(self, queryset, name, value):
        self.words = self._words
        if not self.words:
            self.unknown[name] = value  # nothing searchable in it (only symbols, say)
            return queryset.none()
        match, exact, by_name = self.text_conditions = text.text_filters(self.words)
        return queryset.filter(match).alias(
            tier=Case(
                When(by_name, then=Value(0)),
                When(exact, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )

    def filter_city(self, queryset, name, value):
        self.place = self._place
        if self.place is None:
            self.unknown[name] = value
            return queryset.none()
        point = [self.place.latitude, self.place.longitude]
        metres = self.radius_km * 1000
        points = [*point] * 4
        if self.radius_km < LARGE_RADIUS or self.form.cleaned_data.get("sort") == Sort.DISTANCE:
            sql, params = _NEARBY_INDEXED_SQL, [*point, metres, *points, chord(metres)]
        else:
            sql, params = _NEARBY_SQL, [*points, chord(metres)]
        nearby = RawSQL(sql, params, BooleanField())
        return queryset.filter(nearby).alias(
            distance=RawSQL(_CHORD_SQL, points, output_field=FloatField())
        )

    # --- For the facets ----------------------------------------------------------------------

    def filter_queryset(self, queryset, skip: str | None = None):
        """The filtered rows; with `skip`, as if that parameter were not given (for its facet's
        counts, which its own selection must not shrink)."""
        for name, value in self.form.cleaned_data.items():
            if name != skip:
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    def queryset_for_facet(self, name: str):
        if self.form.cleaned_data.get(name):
            return self.filter_queryset(self.queryset.all(), skip=name)
        return self.qs
