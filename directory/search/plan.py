# The raw SQL here is this module's constants; values always go in as parameters.
# ruff: noqa: S611
"""A list's parameters, resolved once into a plan that the filters, the results and the facets
read (the flow runs one way: parameters -> plan -> rows -> page).

`make_plan()` validates the parameters with the FilterSet's form, then looks up once what they
name: the condition, the medical field, the place (from `city`, or one named in `q`), and what
the words of `q` ask for. `rows()` turns a plan into a queryset of SpecialistSearch.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import BooleanField, Case, FloatField, IntegerField, Q, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core import languages
from directory import hours
from directory.models import Condition, Feature, Specialty
from directory.places import fold
from directory.search import geo, keys, text
from directory.search.vocabulary import vocabulary


class Sort:
    RELEVANCE = "relevance"
    NAME = "name"
    DISTANCE = "distance"
    EARLIEST = "earliest"  # the next free appointment first (directory.slots)


# "Free within 7 days": a free appointment time begins within this many days.
FREE_SOON_DAYS = 7


@dataclass
class Plan:
    """What a list shows, resolved from its parameters."""

    valid: bool = True
    query: str = ""  # `q` as typed
    understanding: text.Understanding = field(default_factory=text.Understanding)
    condition: Condition | None = None
    specialty: Specialty | None = None
    countries: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    insurance: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    new_patients: bool = False
    open_now: hours.Moment | None = None  # open at this moment (given `open_now`)
    saturday: bool = False  # open on Saturdays
    step_free: bool = False  # a step-free entrance, confirmed recently enough
    certified: bool = False  # at a certified centre (for the conditions asked for, if any)
    free_soon: datetime | None = None  # a free appointment from this moment to FREE_SOON_DAYS on
    place: geo.Resolution | None = None
    place_from_text: bool = False  # the place was named in `q`
    radius: int = geo.DEFAULT_RADIUS
    sort: str = Sort.RELEVANCE
    page: int = 1
    scope_conditions: list[int] = field(default_factory=list)  # a condition's own page
    unknown: dict[str, str] = field(default_factory=dict)  # parameter -> value naming nothing
    distance_needs_place: bool = False  # sort=distance was asked for without a place

    @property
    def origin(self) -> geo.Origin | None:
        return self.place.origin if self.place else None

    @property
    def focus_condition_ids(self) -> list[int]:
        """The conditions a row's treatment focus is ranked by: the page's, the filter's and
        those the words name."""
        ids = {*self.scope_conditions, *self.understanding.condition_ids}
        if self.condition is not None:
            ids.add(self.condition.pk)
        return sorted(ids)


def specialties() -> dict[int, Specialty]:
    """Every public medical field, for the `specialty` filter, its facet and the cards; cached
    until the next change to the listings or the taxonomy."""
    return cache.get_or_set(
        keys.specialties(),
        lambda: {
            f.pk: f
            for f in Specialty.objects.filter(needs_review=False).only(
                *languages.columns("name"), "slug", "parent_id"
            )
        },
        keys.cache_seconds(),
    )


def conditions() -> dict[int, Condition]:
    """Every public condition and treatment (names and slug), for suggestions; cached like
    specialties()."""
    return cache.get_or_set(
        keys.conditions(),
        lambda: {
            c.pk: c
            for c in Condition.objects.filter(needs_review=False).only(
                *languages.columns("name"), "slug"
            )
        },
        keys.cache_seconds(),
    )


def understand(query: str, countries, *, find_place: bool = True) -> text.Understanding:
    """What `q` asks for, per country filter (which places it prefers) and whether a place may
    be named in it (not when `city` names one). It depends on the taxonomy (the vocabulary) and
    on the names in the index: after a change the last reading serves while it is read again
    (keys.fresh_or_stale); the rows it selects are always read from the index as it is."""
    taxonomy = keys.generation(keys.TAXONOMY_GENERATION_KEY)
    return keys.fresh_or_stale(
        keys.analysed_query(f"{query}|{','.join(sorted(countries))}|{find_place}|{taxonomy}"),
        lambda: text.understand(query, vocabulary(taxonomy), countries, find_place=find_place),
    ).value


def make_plan(data: dict, *, scope_conditions=(), understand_text: bool = True) -> Plan:
    """The plan for a list's cleaned parameters (the FilterSet's form has validated them).
    `understand_text=False` takes `q` as it is (the clinic search matches names only)."""
    plan = Plan(
        query=data.get("q") or "",
        countries=list(data.get("country") or []),
        languages=list(data.get("language") or []),
        insurance=list(data.get("insurance") or []),
        services=list(data.get("service") or []),
        new_patients=bool(data.get("new_patients")),
        open_now=hours.moment(timezone.now()) if data.get("open_now") else None,
        saturday=bool(data.get("saturday")),
        step_free=bool(data.get("step_free")),
        certified=bool(data.get("certified")),
        free_soon=timezone.now() if data.get("free_soon") else None,
        radius=data.get("radius") or geo.DEFAULT_RADIUS,
        sort=data.get("sort") or Sort.RELEVANCE,
        page=data.get("page") or 1,
        scope_conditions=list(scope_conditions),
    )
    if slug := data.get("condition"):
        plan.condition = Condition.objects.filter(slug=slug, needs_review=False).first()
        if plan.condition is None:
            plan.unknown["condition"] = slug
    if slug := data.get("specialty"):
        plan.specialty = next((f for f in specialties().values() if f.slug == slug), None)
        if plan.specialty is None:
            plan.unknown["specialty"] = slug
    if plan.query and not fold(plan.query):
        plan.unknown["q"] = plan.query  # nothing searchable in it (only symbols, say)
    elif plan.query and understand_text:
        find_place = not data.get("city")
        plan.understanding = understand(plan.query, plan.countries, find_place=find_place)
    if city := data.get("city"):
        plan.place = geo.resolve(city, plan.countries)
        if plan.place is None:
            plan.unknown["city"] = city
    elif plan.understanding.place is not None:
        plan.place, plan.place_from_text = plan.understanding.place, True
    if plan.sort == Sort.DISTANCE and plan.place is None and "city" not in plan.unknown:
        # Nothing to measure from: keep the results, in the best-match order, and ask for a place.
        plan.sort, plan.distance_needs_place = Sort.RELEVANCE, True
    return plan


# The straight-line (chord) distance in metres from the place to a specialist's nearest
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
# Open at a moment (directory.hours): within the week's open minutes (the GiST index), not on a
# closed day, not on a public holiday of its region.
_OPEN_NOW_SQL = """
directory_specialistsearch.open_minutes @> %s::integer
AND NOT coalesce(directory_specialistsearch.closed_days @> %s::date, false)
AND directory_specialistsearch.holiday_region <> ALL(%s::varchar[])
"""
_SATURDAY_SQL = "directory_specialistsearch.open_minutes && %s::int4multirange"

# The parameters whose facets are counted: parameter -> column of SpecialistSearch.
FACETS = {
    "country": "countries",
    "specialty": "specialty_ids",
    "language": "languages",
    "insurance": "insurance",
    "service": "services",
}


def rows(plan: Plan, queryset, *, skip: str | None = None):
    """The rows the plan keeps, with `tier` (relevance) and `distance` annotations where they
    apply; with `skip`, as if that parameter were not given (for its facet's counts, which its
    own selection must not shrink). Builds the query; runs none."""
    if plan.unknown:
        return queryset.none()
    if plan.understanding.words:
        match, exact, by_name = text.text_filters(plan.understanding)
        queryset = queryset.filter(match).alias(
            tier=Case(
                When(by_name, then=Value(0)),
                When(exact, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
    if plan.condition is not None:
        queryset = queryset.filter(condition_ids__contains=[plan.condition.pk])
    if plan.specialty is not None and skip != "specialty":
        # The rows list every broader field too: "Internal medicine" finds oncologists.
        queryset = queryset.filter(specialty_ids__contains=[plan.specialty.pk])
    for name, values in (
        ("country", plan.countries),
        ("language", plan.languages),
        ("insurance", plan.insurance),
        ("service", plan.services),
    ):
        # Options of one facet combine with OR: insurance=statutory&insurance=private lists
        # specialists who take either.
        if values and skip != name:
            queryset = queryset.filter(**{f"{FACETS[name]}__overlap": values})
    if plan.new_patients:
        queryset = queryset.filter(accepts_new_patients=True)
    if plan.open_now is not None:
        moment = plan.open_now
        params = [moment.minute, moment.day, list(moment.holiday_regions)]
        queryset = queryset.filter(RawSQL(_OPEN_NOW_SQL, params, BooleanField()))
    if plan.step_free:
        queryset = queryset.filter(features__contains=[Feature.STEP_FREE])
    if plan.saturday:
        queryset = queryset.filter(RawSQL(_SATURDAY_SQL, [hours.SATURDAY_TEXT], BooleanField()))
    if plan.certified:
        # Certified for one of the conditions the list is about; with none, for anything (0).
        conditions = plan.focus_condition_ids
        if conditions:
            queryset = queryset.filter(certified__overlap=conditions)
        else:
            queryset = queryset.filter(certified__contains=[0])
    if plan.free_soon is not None:
        # The row's next free time is kept current (directory.slots.availability); the index
        # on it serves both this and the "earliest appointment" order.
        queryset = queryset.filter(
            next_free__gt=plan.free_soon,
            next_free__lt=plan.free_soon + timedelta(days=FREE_SOON_DAYS),
        )
    if plan.origin is not None:
        queryset = _nearby(plan, queryset)
    return queryset


def _nearby(plan: Plan, queryset):
    origin = plan.origin
    point = [origin.latitude, origin.longitude]
    metres = plan.radius * 1000
    points = [*point] * 4
    if plan.radius < LARGE_RADIUS or plan.sort == Sort.DISTANCE:
        sql, params = _NEARBY_INDEXED_SQL, [*point, metres, *points, geo.chord(metres)]
    else:
        sql, params = _NEARBY_SQL, [*points, geo.chord(metres)]
    return queryset.filter(RawSQL(sql, params, BooleanField())).alias(
        distance=RawSQL(_CHORD_SQL, points, output_field=FloatField())
    )


def focus(plan: Plan) -> tuple[Q, Q] | None:
    """(first, among the first three) conditions on the rows' treatment focus, for ranking: a
    specialist who lists the condition first comes before one who lists it third, before one
    who lists it further down or only has the field. None when the plan names no condition."""
    ids = plan.focus_condition_ids
    if not ids:
        return None
    return Q(first_focus__in=ids), Q(top_focus__overlap=ids)
