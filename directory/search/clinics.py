# The raw SQL here is this module's constants; values always go in as parameters.
# ruff: noqa: S611
"""Clinic search, `/<lang>/clinics/`: the specialist search's conventions (parameter names,
400 for malformed values, 200 and a message for values that name nothing, canonical URLs, 20
per page) over the published clinics.

`q` matches the folded clinic name word by word (trigram index on directory_fold(name));
`city` and `radius` keep clinics with a location within that distance (a latitude/longitude box
from the B-tree index first, then the exact great-circle distance).
"""

from django.core.paginator import Paginator
from django.db.models import (
    BooleanField,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Prefetch,
    Q,
    TextField,
)
from django.db.models.expressions import RawSQL

from core.pagination import paginate
from directory.models import Clinic, Country, Location, SpecialistSearch
from directory.places import fold
from directory.search import geo
from directory.search.filters import ClinicFilterSet
from directory.search.lists import PAGE_SIZE, FilteredList, canonical_query_string
from directory.search.plan import Plan, Sort

CANONICAL_ORDER = (
    "q",
    "condition",
    "specialty",
    "country",
    "kind",
    "city",
    "radius",
    "sort",
    "page",
)

# The great-circle distance in metres from the place to the clinic's nearest location.
_DISTANCE_SQL = """(SELECT min(earth_distance(ll_to_earth(%s, %s), ll_to_earth(l.latitude,
    l.longitude))) FROM directory_location AS l WHERE l.clinic_id = directory_clinic.id
    AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL)"""
_NEARBY_SQL = """EXISTS (SELECT 1 FROM directory_location AS l
    WHERE l.clinic_id = directory_clinic.id
    AND l.latitude BETWEEN %s AND %s AND l.longitude BETWEEN %s AND %s
    AND earth_distance(ll_to_earth(%s, %s), ll_to_earth(l.latitude, l.longitude)) <= %s)"""


def clinic_rows(plan: Plan, kinds: list[str], queryset):
    """The published clinics the plan keeps: every word of `q` in the folded name, the
    countries and kinds, and a location within the radius (annotated `distance_km`)."""
    if plan.unknown:
        return queryset.none()
    words = fold(plan.query).split()
    if words:
        queryset = queryset.alias(
            folded_name=Func(F("name"), function="directory_fold", output_field=TextField())
        )
        for word in words:
            queryset = queryset.filter(folded_name__contains=word)
    if plan.countries:
        queryset = queryset.filter(
            Exists(Location.objects.filter(clinic=OuterRef("pk"), country__in=plan.countries))
        )
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    # Clinics where a published specialist who treats the condition (or works in the field, or
    # a sub-field) practises, at the clinic or one of its departments.
    treating = Q()
    if plan.condition is not None:
        treating &= Q(condition_ids__contains=[plan.condition.pk])
    if plan.specialty is not None:
        treating &= Q(specialty_ids__contains=[plan.specialty.pk])
    if treating:
        rows = SpecialistSearch.objects.filter(treating)
        at = rows.filter(specialist__affiliations__clinic=OuterRef("pk"))
        in_department = rows.filter(specialist__affiliations__clinic__parent=OuterRef("pk"))
        queryset = queryset.filter(Exists(at) | Exists(in_department))
    if (origin := plan.origin) is not None:
        latitude, longitude, km = origin.latitude, origin.longitude, plan.radius
        nearby = RawSQL(
            _NEARBY_SQL, [*geo.box(origin, km), latitude, longitude, km * 1000], BooleanField()
        )
        distance = RawSQL(_DISTANCE_SQL, [latitude, longitude], output_field=FloatField())
        queryset = queryset.filter(nearby).annotate(distance_km=distance / 1000)
    return queryset


class ClinicList(FilteredList):
    """One page of published clinics for the request's parameters. Three queries: the count,
    the page, the page's locations (and one for the place, cached)."""

    def __init__(self, request):
        super().__init__(
            request, ClinicFilterSet(request.GET, request=request), understand_text=False
        )
        self.page = None  # a django.core.paginator.Page when there are results to show
        self.total = 0
        self.out_of_range = False
        if self.valid:
            self._run()

    @property
    def sort(self) -> str:
        """By distance when asked and there is a place to measure from; by name otherwise."""
        sort = self.data.get("sort")
        return Sort.DISTANCE if sort == Sort.DISTANCE and self.place is not None else Sort.NAME

    @property
    def pagination(self):
        if self.page is None:
            return None
        return paginate(
            self.page.number, self.page.paginator.num_pages, lambda n: self.query_string(page=n)
        )

    @property
    def specialty_options(self) -> list[tuple[str, str, bool]]:
        """(slug, name, selected) of every public medical field, by name, for the field menu."""
        from directory.search.plan import specialties

        chosen = self.data.get("specialty") if self.valid else self.form.data.get("specialty")
        fields = sorted(specialties().values(), key=lambda f: f.name)
        return [(f.slug, f.name, f.slug == chosen) for f in fields]

    @property
    def countries(self) -> list[tuple[str, str, bool]]:
        chosen = self.selected("country")
        return [(code, label, code in chosen) for code, label in Country.choices]

    @property
    def kinds(self) -> list[tuple[str, str, bool]]:
        chosen = self.selected("kind")
        return [(code, label, code in chosen) for code, label in Clinic.Kind.choices]

    def _run(self) -> None:
        clinics = clinic_rows(self.plan, self.data.get("kind") or [], Clinic.objects.published())
        ordering = ["name", "id"]
        if self.sort == Sort.DISTANCE and self.place is not None:
            ordering = ["distance_km", *ordering]
        clinics = (
            clinics.only("name", "slug", "kind", "logo")
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
    def without_condition_url(self) -> str:
        return self.query_string(condition="", page=1)

    @property
    def first_page_url(self) -> str:
        return self.query_string(page=1)
