# The raw SQL here is this module's constants; values always go in as parameters.
# ruff: noqa: S611
"""Clinic search, `/<lang>/clinics/`: the specialist search's conventions (parameter names,
400 for malformed values, 200 and a message for values that name nothing, canonical URLs, 20
per page) over the published clinics.

`q` matches the folded clinic name word by word (trigram index on directory_fold(name));
`city` and `radius` keep clinics with a location within that distance (a latitude/longitude box
from the B-tree index first, then the exact great-circle distance).
"""

import math

import django_filters
from django.core.paginator import Paginator
from django.db.models import (
    BooleanField,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Prefetch,
    TextField,
)
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from directory.models import Clinic, Country, Location, Place
from directory.places import fold
from directory.search.filters import (
    DEFAULT_RADIUS,
    MAX_QUERY_LENGTH,
    MAX_RADIUS,
    IntegerFilter,
    SearchForm,
    Sort,
    cached_place,
)
from directory.search.lists import PAGE_SIZE, FilteredList, canonical_query_string

CANONICAL_ORDER = ("q", "country", "kind", "city", "radius", "sort", "page")
KM_PER_DEGREE = 111.2

# The great-circle distance in metres from the place to the clinic's nearest location.
_DISTANCE_SQL = """(SELECT min(earth_distance(ll_to_earth(%s, %s), ll_to_earth(l.latitude,
    l.longitude))) FROM directory_location AS l WHERE l.clinic_id = directory_clinic.id
    AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL)"""
_NEARBY_SQL = """EXISTS (SELECT 1 FROM directory_location AS l
    WHERE l.clinic_id = directory_clinic.id
    AND l.latitude BETWEEN %s AND %s AND l.longitude BETWEEN %s AND %s
    AND earth_distance(ll_to_earth(%s, %s), ll_to_earth(l.latitude, l.longitude)) <= %s)"""


class ClinicFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_text", label=_("Name of the clinic"), max_length=MAX_QUERY_LENGTH
    )
    country = django_filters.MultipleChoiceFilter(
        method="filter_country", label=_("Country"), choices=Country.choices
    )
    kind = django_filters.MultipleChoiceFilter(
        field_name="kind", label=_("Kind"), choices=Clinic.Kind.choices
    )
    city = django_filters.CharFilter(method="filter_city", label=_("City or town"), max_length=120)
    radius = IntegerFilter(
        method="filter_nothing", label=_("Distance"), min_value=1, max_value=MAX_RADIUS
    )
    sort = django_filters.ChoiceFilter(
        method="filter_nothing",
        label=_("Sort by"),
        choices=((Sort.NAME, _("Name")), (Sort.DISTANCE, _("Distance"))),
    )
    page = IntegerFilter(method="filter_nothing", label=_("Page"), min_value=1)

    class Meta:
        model = Clinic
        fields = []
        form = SearchForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.place: Place | None = None
        self.unknown: dict[str, str] = {}

    @property
    def radius_km(self) -> int:
        return self.form.cleaned_data.get("radius") or DEFAULT_RADIUS

    def filter_nothing(self, queryset, name, value):
        return queryset  # sort and page are applied by ClinicList; radius with city

    def filter_text(self, queryset, name, value):
        words = fold(value).split()
        if not words:
            self.unknown[name] = value
            return queryset.none()
        queryset = queryset.alias(
            folded_name=Func(F("name"), function="directory_fold", output_field=TextField())
        )
        for word in words:
            queryset = queryset.filter(folded_name__contains=word)
        return queryset

    def filter_country(self, queryset, name, value):
        return queryset.filter(
            Exists(Location.objects.filter(clinic=OuterRef("pk"), country__in=value))
        )

    def filter_city(self, queryset, name, value):
        self.place = cached_place(value)
        if self.place is None:
            self.unknown[name] = value
            return queryset.none()
        latitude, longitude = self.place.latitude, self.place.longitude
        km = self.radius_km
        # The box around the place that holds the circle (wider in longitude away from the
        # equator); the index narrows the locations to it before distances are computed.
        dlat = km / KM_PER_DEGREE
        dlon = min(180.0, km / (KM_PER_DEGREE * max(math.cos(math.radians(latitude)), 0.01)))
        box = [latitude - dlat, latitude + dlat, longitude - dlon, longitude + dlon]
        nearby = RawSQL(_NEARBY_SQL, [*box, latitude, longitude, km * 1000], BooleanField())
        distance = RawSQL(_DISTANCE_SQL, [latitude, longitude], output_field=FloatField())
        return queryset.filter(nearby).annotate(distance_km=distance / 1000)


class ClinicList(FilteredList):
    """One page of published clinics for the request's parameters. Three queries: the count,
    the page, the page's locations (and one for the place, cached)."""

    def __init__(self, request):
        super().__init__(
            request,
            ClinicFilterSet(request.GET, queryset=Clinic.objects.published(), request=request),
        )
        self.page = None  # a django.core.paginator.Page when there are results to show
        self.total = 0
        self.out_of_range = False
        if self.valid:
            self._run()

    @property
    def sort(self) -> str:
        sort = self.data.get("sort")
        return Sort.DISTANCE if sort == Sort.DISTANCE else Sort.NAME

    @property
    def countries(self) -> list[tuple[str, str, bool]]:
        chosen = self.selected("country")
        return [(code, label, code in chosen) for code, label in Country.choices]

    @property
    def kinds(self) -> list[tuple[str, str, bool]]:
        chosen = self.selected("kind")
        return [(code, label, code in chosen) for code, label in Clinic.Kind.choices]

    def _run(self) -> None:
        clinics = self.filterset.qs  # runs the filters, which find the place
        ordering = ["name", "id"]
        if self.sort == Sort.DISTANCE and self.place is not None:
            ordering = ["distance_km", *ordering]
        clinics = (
            clinics.only("name", "slug", "kind")
            .prefetch_related(
                Prefetch(
                    "locations",
                    queryset=Location.objects.only("clinic_id", "postcode", "city", "country"),
                )
            )
            .order_by(*ordering)
        )
        paginator = Paginator(clinics, PAGE_SIZE)
        self.total = paginator.count
        number = self.data.get("page") or 1
        if self.total and number > paginator.num_pages:
            self.out_of_range = True
        elif self.total:
            self.page = paginator.page(number)

    def query_string(self, **changes) -> str:
        data = dict(self.data) if self.valid else {}
        if data.get("sort") == Sort.NAME:
            data.pop("sort")  # the default here
        data.update(changes)
        return canonical_query_string(data, CANONICAL_ORDER)

    @property
    def canonical_query(self) -> str:
        return self.query_string()

    @property
    def first_page_url(self) -> str:
        return self.query_string(page=1)
