# The raw SQL here is this module's constant; values always go in as parameters.
# ruff: noqa: S611
"""Search, one way: each resource type declares its parameters (`KINDS`); a request's query is
checked against them into a `Plan` (or a FhirError naming every problem); the plan becomes one
queryset, one page of it (keyset paging on the ID), its `_include`s and `_revinclude`s, and a
searchset Bundle. The CapabilityStatement is written from the same declarations
(fhirapi.capability), so it cannot promise what is not here.

Only what the public sees: published specialists, published clinics, and the locations and
places of work of published clinics (of published specialists).

Queries per search do not depend on `_count`: the count, the page, the page's prefetches (one
per to-many relation) and one query (plus its prefetches) per `_include`/`_revinclude`.
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    Lookup,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Greatest, NullIf

from core import languages
from directory.models import (
    SPECIALIST_NAME_FORMS,
    Affiliation,
    Clinic,
    Condition,
    Location,
    Specialist,
    SpecialistCondition,
    Specialty,
    Status,
    current_features,
    folded,
)
from directory.places import fold
from directory.slots.models import Slot, WeeklyTemplate
from fhirapi import resources
from fhirapi.http import FhirError, base_url

DEFAULT_COUNT = 20
MAX_COUNT = 100
# At most this many resources per _revinclude; beyond it the Bundle says so in an outcome.
MAX_REVINCLUDED = 1000
# A search with few matches reads its page by collecting them all and sorting them by a key
# no index holds (the ID plus 0). Otherwise PostgreSQL, which cannot know that a name or a
# code matches nothing or next to nothing, walks the primary key in order and reads the whole
# table before it gives up. Many matches lie thick enough that walking the key finds a page
# quickly.
FEW_MATCHES = 5000
# At most this many values in one search, counting each of a comma list (every value is a
# condition the database checks on each candidate row).
MAX_VALUES = 50
# Bundle.total is counted up to this many matches; beyond, it is left out unless the client
# asks for _total=accurate (a count of half a million rows costs a second).
MAX_COUNTED = 10_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
DEFAULT_NEAR_KM = 25.0
MAX_NEAR_KM = 500.0
KM_PER_DEGREE = 111.2
# Dates without a time zone are read in the directory's one time zone.
LOCAL_ZONE = ZoneInfo("Europe/Berlin")
SPEC = "http://hl7.org/fhir/SearchParameter/"

# Parameters that steer the search rather than filter it.
RESULT_PARAMETERS = {
    "_count": f"At most this many matches per page: {DEFAULT_COUNT} unless given, at most "
    f"{MAX_COUNT}.",
    "_include": "Add the resources the matches refer to (values in searchInclude).",
    "_revinclude": "Add the resources that refer to the matches (values in searchRevInclude), "
    f"at most {MAX_REVINCLUDED} per value.",
    "_total": "none: leave out Bundle.total (saves the count); estimate (the default): give it "
    f"up to {MAX_COUNTED:,} matches, leave it out beyond; accurate: give it however many.",
    "_after": "Paging: the matches after this ID (the next link sets it).",
    "_before": "Paging: the matches before this ID (the previous link sets it).",
    "_format": "json, application/json or application/fhir+json; XML is not served (406).",
    "_pretty": "true: indented JSON.",
}


# --- Values -----------------------------------------------------------------------------------


def split_values(raw: str) -> list[str]:
    """A parameter's values, separated by commas (OR); `\\,` is a comma inside a value."""
    parts = re.split(r"(?<!\\),", raw)
    return [part.replace("\\,", ",").replace("\\|", "|").replace("\\\\", "\\") for part in parts]


def token(value: str) -> tuple[str | None, str]:
    """`system|code`, `|code` (no system) or `code` (any system): (system, code)."""
    parts = re.split(r"(?<!\\)\|", value, maxsplit=1)
    if len(parts) == 1:
        return None, value
    return parts[0], parts[1]


def reference_ids(kind: str, values: list[str]) -> list[int]:
    """The IDs that `123`, `Kind/123` or `<base>/Kind/123` name (others name nothing here)."""
    ids = []
    for value in values:
        for prefix in (f"{base_url()}/{kind}/", f"{kind}/"):
            if value.startswith(prefix):
                value = value.removeprefix(prefix)
                break
        if is_id(value):
            ids.append(int(value))
    return ids


_DATE = re.compile(
    r"^(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?"
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d+)?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def date_range(value: str, name: str) -> tuple[str, datetime, datetime]:
    """A date search value as (prefix, first moment, first moment after): its precision is its
    range, as FHIR says ("2024-05" is all of May)."""
    match = _DATE.match(value)
    if match is None:
        raise FhirError(
            400,
            "invalid",
            f"{name}: '{value}' is not a date such as 2024-05-17 or 2024-05-17T10:00:00Z, with "
            "an optional prefix (eq, ne, gt, lt, ge, le, sa, eb).",
        )
    parts = match.groupdict()
    prefix = parts["prefix"] or "eq"
    if prefix == "ap":
        raise FhirError(400, "not-supported", f"{name}: the prefix 'ap' is not supported.")
    year = int(parts["year"])
    if not 1000 <= year <= 9000:
        raise FhirError(400, "invalid", f"{name}: '{value}': the year must be 1000 to 9000.")
    zone = _zone(parts["zone"], name, value)
    try:
        if parts["month"] is None:
            start = datetime(year, 1, 1, tzinfo=zone)
            end = datetime(year + 1, 1, 1, tzinfo=zone)
        elif parts["day"] is None:
            month = int(parts["month"])
            start = datetime(year, month, 1, tzinfo=zone)
            end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
        else:
            day = date(year, int(parts["month"]), int(parts["day"]))
            if parts["hour"] is None:
                start = datetime(day.year, day.month, day.day, tzinfo=zone)
                end = start + timedelta(days=1)
            else:
                fraction = parts["fraction"] or ""
                start = datetime(
                    day.year,
                    day.month,
                    day.day,
                    int(parts["hour"]),
                    int(parts["minute"]),
                    int(parts["second"] or 0),
                    int((fraction[1:] + "000000")[:6]) if fraction else 0,
                    tzinfo=zone,
                )
                if parts["second"] is None:
                    end = start + timedelta(minutes=1)
                else:
                    end = start + (timedelta(microseconds=1) if fraction else timedelta(seconds=1))
    except ValueError:
        raise FhirError(400, "invalid", f"{name}: '{value}' is not a valid date.") from None
    return prefix, start, end


def _zone(text: str | None, name: str, value: str):
    """The time zone of a date value: Central European time when it gives none."""
    if text is None:
        return LOCAL_ZONE
    if text == "Z":
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59:
        raise FhirError(400, "invalid", f"{name}: '{value}' has no valid time zone.")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(offset if text[0] == "+" else -offset)


# --- Parameters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A search parameter: `where(values, modifier)` turns its OR-ed values into a Q."""

    name: str
    type: str  # the FHIR search parameter type
    documentation: str
    where: Callable[[list[str], str], Q]
    definition: str = ""  # the standard SearchParameter, if it is one
    modifiers: frozenset[str] = frozenset()


NOTHING = Q(pk__in=[])


def _any(queries) -> Q:
    queries = list(queries)
    return Q(*queries, _connector=Q.OR) if queries else NOTHING


def is_id(value: str) -> bool:
    """Whether `value` is an ID as this server writes them: ASCII digits, no leading zero, at
    most 18 of them (a bigint)."""
    return value.isascii() and value.isdigit() and len(value) <= 18 and value == str(int(value))


def string_param(name: str, fields: list[str], documentation: str, definition: str = "") -> Param:
    """A string: case, accents and umlauts ignored; starts with the value (`:contains`
    anywhere, `:exact` the whole value as written)."""

    def where(values: list[str], modifier: str) -> Q:
        queries = []
        for value in values:
            for path in fields:
                if modifier == "exact":
                    queries.append(Q(**{path: value}))
                    continue
                folded = fold(value)
                if not folded:  # only punctuation: names nothing
                    continue
                lookup = "contains" if modifier == "contains" else "startswith"
                queries.append(Q(**{f"{_folded_name(path)}__{lookup}": folded}))
        return _any(queries)

    return Param(
        name,
        "string",
        documentation,
        where,
        definition=definition or f"{SPEC}{name}",
        modifiers=frozenset({"exact", "contains"}),
    )


def _folded_name(path: str) -> str:
    return f"{path.replace('__', '_')}_folded"


def _with_folded(queryset: QuerySet, paths: list[str]) -> QuerySet:
    """The fields folded as `<path>_folded`: the expression of directory.models.folded, so that
    an index on it (the location's city) serves the search."""
    return queryset.alias(**{_folded_name(path): folded(path) for path in paths})


def id_param() -> Param:
    def where(values: list[str], modifier: str) -> Q:
        return Q(pk__in=[int(v) for v in values if is_id(v)])

    return Param("_id", "token", "The resource's ID.", where, f"{SPEC}Resource-id")


def last_updated_param() -> Param:
    def where(values: list[str], modifier: str) -> Q:
        queries = []
        for value in values:
            prefix, start, end = date_range(value, "_lastUpdated")
            moment = "last_updated"
            queries.append(
                {
                    "eq": Q(**{f"{moment}__gte": start, f"{moment}__lt": end}),
                    "ne": ~Q(**{f"{moment}__gte": start, f"{moment}__lt": end}),
                    "gt": Q(**{f"{moment}__gte": end}),
                    "sa": Q(**{f"{moment}__gte": end}),
                    "ge": Q(**{f"{moment}__gte": start}),
                    "lt": Q(**{f"{moment}__lt": start}),
                    "eb": Q(**{f"{moment}__lt": start}),
                    "le": Q(**{f"{moment}__lt": end}),
                }[prefix]
            )
        return _any(queries)

    return Param(
        "_lastUpdated",
        "date",
        "When the resource last changed (meta.lastUpdated), with the prefixes eq, ne, gt, lt, "
        "ge, le, sa and eb; a date without a time zone is read in Central European time.",
        where,
        f"{SPEC}Resource-lastUpdated",
    )


def identifier_param(kind: str, documentation: str, definition: str) -> Param:
    def where(values: list[str], modifier: str) -> Q:
        slugs = []
        for value in values:
            system, code = token(value)
            if system in (None, resources.identifier_system(kind)):
                slugs.append(code)
        return Q(slug__in=slugs)

    return Param("identifier", "token", documentation, where, definition)


def reference_param(
    name: str, kind: str, path: str, documentation: str, definition: str, *extra: Q
) -> Param:
    def where(values: list[str], modifier: str) -> Q:
        return Q(*extra, **{f"{path}__in": reference_ids(kind, values)})

    return Param(name, "reference", documentation, where, definition)


def active_param(definition: str) -> Param:
    def where(values: list[str], modifier: str) -> Q:
        flags = set()
        for value in values:
            system, code = token(value)
            if code not in {"true", "false"} or system not in (None, ""):
                raise FhirError(
                    400,
                    "invalid",
                    f"active: '{value}' is not true or false (a boolean has no system).",
                )
            flags.add(code)
        return Q() if "true" in flags else NOTHING

    return Param(
        "active", "token", "true: all of them (everything served is active).", where, definition
    )


COUNTRY_NAMES = {
    "DE": ("germany", "deutschland", "allemagne", "germania"),
    "AT": ("austria", "osterreich", "autriche"),
    "CH": ("switzerland", "schweiz", "suisse", "svizzera"),
}


def country_param(name: str, path: str, definition: str) -> Param:
    def where(values: list[str], modifier: str) -> Q:
        codes = set()
        for value in values:
            folded = fold(value)
            for code, names in COUNTRY_NAMES.items():
                if folded == code.lower() or (
                    folded and modifier != "exact" and any(n.startswith(folded) for n in names)
                ):
                    codes.add(code)
        return Q(**{f"{path}__in": sorted(codes)})

    return Param(
        name,
        "string",
        "The country: its ISO 3166 code (DE, AT, CH) or the start of its name in English, "
        "German, French or Italian.",
        where,
        definition,
        frozenset({"exact"}),
    )


def postcode_param(name: str, path: str, definition: str) -> Param:
    def where(values: list[str], modifier: str) -> Q:
        lookup = "exact" if modifier == "exact" else "startswith"
        return _any(Q(**{f"{path}__{lookup}": value.strip()}) for value in values)

    return Param(
        name,
        "string",
        "The postcode, or its beginning.",
        where,
        definition,
        frozenset({"exact"}),
    )


def parse_near(value: str) -> tuple[float, float, float]:
    """`latitude|longitude|distance|units`: distance in km (the default), 25 km unless given."""
    parts = value.split("|")
    problem = (
        f"near: '{value}' is not latitude|longitude|distance|km, e.g. 52.52|13.40|10|km "
        f"(distance at most {MAX_NEAR_KM:g} km, {DEFAULT_NEAR_KM:g} unless given)."
    )
    if not 2 <= len(parts) <= 4:
        raise FhirError(400, "invalid", problem)
    try:
        latitude, longitude = float(parts[0]), float(parts[1])
        distance = float(parts[2]) if len(parts) > 2 and parts[2] else DEFAULT_NEAR_KM
    except ValueError:
        raise FhirError(400, "invalid", problem) from None
    units = parts[3] if len(parts) > 3 else "km"
    if units not in {"km", ""}:
        raise FhirError(
            400, "not-supported", f"near: distances in '{units}' are not supported; use km."
        )
    finite = all(math.isfinite(number) for number in (latitude, longitude, distance))
    if (
        not finite
        or not -90 <= latitude <= 90
        or not -180 <= longitude <= 180
        or not 0 < distance <= MAX_NEAR_KM
    ):
        raise FhirError(400, "invalid", problem)
    return latitude, longitude, distance


_WITHIN_SQL = (
    'earth_distance(ll_to_earth(%s, %s), ll_to_earth("directory_location"."latitude", '
    '"directory_location"."longitude")) <= %s'
)


def near_param() -> Param:
    """Locations within the distance (great circle, earthdistance); the box around the circle
    first, on the index of latitude and longitude."""

    def where(values: list[str], modifier: str) -> Q:
        queries = []
        for value in values:
            latitude, longitude, km = parse_near(value)
            dlat = km / KM_PER_DEGREE
            dlon = min(180.0, km / (KM_PER_DEGREE * max(math.cos(math.radians(latitude)), 0.01)))
            within = RawSQL(_WITHIN_SQL, [latitude, longitude, km * 1000], BooleanField())
            queries.append(
                Q(
                    within,
                    latitude__range=(latitude - dlat, latitude + dlat),
                    longitude__range=(longitude - dlon, longitude + dlon),
                )
            )
        return _any(queries)

    return Param(
        "near",
        "special",
        "latitude|longitude|distance|units: within the distance (km, the only unit; "
        f"{DEFAULT_NEAR_KM:g} km unless given; at most {MAX_NEAR_KM:g} km) of the point, as the "
        "crow flies. Results stay in the order of their IDs.",
        where,
        f"{SPEC}Location-near",
    )


def specialty_codes(values: list[str]) -> Q:
    """The medical fields (`specialty__` of a link to them) that `specialty` tokens name: our
    slugs (our system or none) and SNOMED CT codes (that system or none)."""
    slugs, snomed = [], []
    for system, code in map(token, values):
        if system in (None, resources.code_system_url("specialty")):
            slugs.append(code)
        if system in (None, resources.SNOMED) and code:
            snomed.append(code)
    return Q(specialty__slug__in=slugs) | Q(specialty__snomed_code__in=snomed)


def specialty_param(specialist_path: str) -> Param:
    def where(values: list[str], modifier: str) -> Q:
        fields = Specialist.specialties.through.objects.filter(
            specialty_codes(values),
            specialist_id=OuterRef(specialist_path),
            specialty__needs_review=False,
        )
        return Q(Exists(fields))

    return Param(
        "specialty",
        "token",
        "A medical field: a code of "
        f"{resources.code_system_url('specialty')} (our slugs) or of {resources.SNOMED} (the "
        "FHIR practice setting codes, where a field has one), with or without the system.",
        where,
        f"{SPEC}PractitionerRole-specialty",
    )


def communication_param() -> Param:
    def where(values: list[str], modifier: str) -> Q:
        codes = []
        for value in values:
            system, code = token(value)
            primary = code.lower().split("-")[0]  # de-CH: German
            if system in (None, resources.BCP47) and re.fullmatch("[a-z]{2}", primary):
                codes.append(primary)
        return Q(languages__overlap=codes) if codes else NOTHING

    return Param(
        "communication",
        "token",
        "A language spoken, as a BCP-47 code (de, en, fr ...), system urn:ietf:bcp:47.",
        where,
        f"{SPEC}Practitioner-communication",
    )


def organization_type_param() -> Param:
    def where(values: list[str], modifier: str) -> Q:
        queries = []
        for value in values:
            system, code = token(value)
            if system not in (None, resources.ORGANIZATION_TYPE):
                continue
            if code == "dept":
                queries.append(Q(kind=Clinic.Kind.DEPARTMENT))
            elif code == "prov":
                queries.append(~Q(kind=Clinic.Kind.DEPARTMENT))
        return _any(queries)

    return Param(
        "type",
        "token",
        "prov (hospitals, practices, centres) or dept (departments), system "
        f"{resources.ORGANIZATION_TYPE}.",
        where,
        f"{SPEC}Organization-type",
    )


# --- Resource types ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Include:
    """`source:param` (rows of `source` refer to `target` by `attribute`)."""

    source: str
    param: str
    target: str
    attribute: str  # the referring row's attribute holding the target's ID (for _include)
    lookup: str  # the referring rows' lookup of the target's ID (for _revinclude)

    @property
    def value(self) -> str:
        return f"{self.source}:{self.param}"


INCLUDES = [
    Include("PractitionerRole", "practitioner", "Practitioner", "specialist_id", "specialist_id"),
    Include("PractitionerRole", "organization", "Organization", "clinic_id", "clinic_id"),
    Include("PractitionerRole", "location", "Location", "location_id", "location_id"),
    Include("Location", "organization", "Organization", "clinic_id", "clinic_id"),
    Include("Organization", "partof", "Organization", "parent_id", "parent_id"),
]


@dataclass(frozen=True)
class Kind:
    name: str
    rows: Callable[[], QuerySet]  # what the public sees, annotated `last_updated`, prefetched
    to_resource: Callable[[object], dict]
    params: dict[str, Param] = field(default_factory=dict)
    # Whether meta.lastUpdated moves with everything the resource says, so that
    # If-Modified-Since can be answered from it (else only the ETag, If-None-Match, can).
    dated: bool = True

    @property
    def includes(self) -> list[Include]:
        return [include for include in INCLUDES if include.source == self.name]

    @property
    def revincludes(self) -> list[Include]:
        return [include for include in INCLUDES if include.target == self.name]

    def page_id(self, name: str, value: str):
        """The ID an `_after` or `_before` names (the key of keyset paging)."""
        return _page_id(name, value)


def _focus_items() -> QuerySet:
    """A specialist's public treatment focus, in its order (each item a HealthcareService)."""
    return (
        SpecialistCondition.objects.filter(condition__needs_review=False)
        .select_related("condition")
        .order_by("position", "id")
    )


def practitioner_rows() -> QuerySet:
    rows = named_specialists().annotate(last_updated=F("modified"))
    return rows.prefetch_related(
        Prefetch("specialistcondition_set", queryset=_focus_items(), to_attr="focus_items")
    )


class IndexedText(TextField):
    """A folded name as its index holds it: `prefix` asks for the values that start with the
    text as the range the index answers whole (~>=~ and ~<~, the operators of
    text_pattern_ops). LIKE 'text%' would use the same range but check each row it finds
    again, folding its name once more."""


@IndexedText.register_lookup
class Prefix(Lookup):
    lookup_name = "prefix"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if not self.rhs:
            return f"{lhs} IS NOT NULL", lhs_params
        # The first text past every one that starts so (UTF-8 keeps the code points' order;
        # folding leaves letters and digits only, never the last code point or a surrogate).
        after = ord(self.rhs[-1]) + 1
        following = self.rhs[:-1] + chr(0xE000 if 0xD800 <= after < 0xE000 else after)
        sql = f"({lhs} ~>=~ {rhs} AND {lhs} ~<~ %s)"
        return sql, [*lhs_params, *rhs_params, *lhs_params, following]


def _indexed(expression) -> ExpressionWrapper:
    return ExpressionWrapper(expression, output_field=IndexedText())


def named_specialists() -> QuerySet:
    """Published specialists with the forms of their name that the name searches ask for."""
    return Specialist.objects.published().alias(
        written_name=Func(
            Value(" "),
            *(NullIf(F(name), Value("")) for name in SPECIALIST_NAME_FORMS["full"]),
            function="concat_ws",
            output_field=TextField(),
        ),
        given_name_folded=folded("given_name"),
        **{
            f"{form}_name_folded": _indexed(folded(*fields))
            for form, fields in SPECIALIST_NAME_FORMS.items()
        },
    )


def organization_rows() -> QuerySet:
    rows = Clinic.objects.published().select_related("parent")
    rows = rows.annotate(
        last_updated=Greatest("modified", Coalesce("parent__modified", "modified"))
    )
    return _with_folded(rows, ["name"])


def location_rows() -> QuerySet:
    rows = Location.objects.filter(clinic__status=Status.PUBLISHED).select_related("clinic")
    rows = rows.annotate(last_updated=Greatest("modified", "clinic__modified"))
    rows = rows.prefetch_related(current_features())
    return _with_folded(rows, ["name", "clinic__name", "city"])


def role_rows() -> QuerySet:
    rows = Affiliation.objects.filter(
        specialist__status=Status.PUBLISHED,
        clinic__status=Status.PUBLISHED,
        location__clinic__status=Status.PUBLISHED,
    ).select_related("specialist", "clinic", "location")
    rows = rows.annotate(
        last_updated=Greatest(
            "modified", "specialist__modified", "clinic__modified", "location__modified"
        )
    )
    rows = _with_folded(rows, ["location__city"])
    return rows.prefetch_related(
        Prefetch(
            "specialist__specialties",
            queryset=Specialty.objects.public().order_by("name_en", "pk"),
            to_attr="public_specialties",
        ),
        Prefetch(
            "specialist__specialistcondition_set", queryset=_focus_items(), to_attr="focus_items"
        ),
    )


# A word of the name from its start anywhere in it ("peter" in "Hans Peter Weber") is found
# through the full name's trigrams; they narrow nothing for fewer letters than this.
WORD_MIN = 3


def _word(folded: str, form: str = "full") -> Q:
    """A word of the (folded) name that starts with `folded`, after the first."""
    return Q(**{f"{form}_name_folded__contains": f" {folded}"})


def name_part_param(name: str, field: str, documentation: str) -> Param:
    """`family` or `given` of a Practitioner. Each kind of match asks first with a form of the
    name that one of the specialist's name indexes holds (directory.models.folded), then with
    the part itself: the family name from its start, the given name from its start through
    "given family" and any later word of it through the full name's trigrams, anywhere
    through the trigrams too, and the exact family name through the index on status and
    name."""

    starts = " (any of its words)" if field == "given_name" else ""

    def where(values: list[str], modifier: str) -> Q:
        queries = []
        for value in values:
            folded = fold(value)
            if modifier == "exact":
                queries.append(
                    Q(**{field: value})
                    if field == "family_name"
                    else Q(**{field: value}, given_family_name_folded__prefix=folded)
                )
            elif not folded:  # only punctuation: names nothing
                continue
            elif modifier == "contains":
                queries.append(
                    Q(full_name_folded__contains=folded, **{f"{field}_folded__contains": folded})
                )
            elif field == "family_name":  # one name, from its start: the index answers whole
                queries.append(Q(family_name_folded__prefix=folded))
            else:
                if " " in folded:  # "anna ma" starts "anna mayer", not the given name "anna"
                    queries.append(
                        Q(
                            given_family_name_folded__prefix=folded,
                            given_name_folded__startswith=folded,
                        )
                    )
                else:  # one word starts "given family" only where it starts the given name
                    queries.append(Q(given_family_name_folded__prefix=folded) & ~Q(given_name=""))
                if len(folded) >= WORD_MIN:  # "Peter" of "Hans Peter"
                    queries.append(_word(folded) & _word(folded, "given"))
        return _any(queries)

    return Param(
        name,
        "string",
        f"{documentation} From its start{starts}, case and accents ignored (`:contains` "
        "anywhere, `:exact` as written).",
        where,
        f"{SPEC}individual-{name}",
        frozenset({"exact", "contains"}),
    )


def _practitioner_name(values: list[str], modifier: str) -> Q:
    """Any part of the name: each form of the name (family; given family; title given family)
    from its start, as the specialist's name indexes hold them, and any later word of it (three
    letters or more, through the full name's trigrams); `:exact` the name as written, whole or
    a part."""
    queries = []
    for value in values:
        folded = fold(value)
        if modifier == "exact":
            queries += [
                Q(family_name=value),
                Q(given_name=value, given_family_name_folded__prefix=folded),
                Q(written_name=value, full_name_folded__prefix=folded),
                Q(honorific_prefix=value, full_name_folded__prefix=folded),
            ]
        elif not folded:  # only punctuation: names nothing
            continue
        elif modifier == "contains":
            queries.append(Q(full_name_folded__contains=folded))
        else:
            queries += [
                Q(**{f"{form}_name_folded__prefix": folded}) for form in SPECIALIST_NAME_FORMS
            ]
            if len(folded) >= WORD_MIN:
                queries.append(_word(folded))
    return _any(queries)


def _params(*params: Param) -> dict[str, Param]:
    return {param.name: param for param in (id_param(), last_updated_param(), *params)}


def _address_params(prefix: str = "") -> list[Param]:
    """address-city, address-postalcode and address-country of a Location (`prefix`
    "location__" and names "location.address-city" for a PractitionerRole's location)."""
    chained = "location." if prefix else ""
    return [
        string_param(
            f"{chained}address-city",
            [f"{prefix}city"],
            "The town or city, or its beginning (case and accents ignored).",
            f"{SPEC}Location-address-city",
        ),
        postcode_param(
            f"{chained}address-postalcode",
            f"{prefix}postcode",
            f"{SPEC}Location-address-postalcode",
        ),
        country_param(
            f"{chained}address-country", f"{prefix}country", f"{SPEC}Location-address-country"
        ),
    ]


def _role_address_params() -> list[Param]:
    """Chained: the role's location's address (PractitionerRole?location.address-city=Berlin)."""
    params = []
    for param in _address_params("location__"):
        params.append(
            Param(
                param.name,
                param.type,
                f"Chained: the address of the role's location. {param.documentation}",
                param.where,
                "",  # a chain, not a parameter of its own
                param.modifiers,
            )
        )
    return params


def _kinds() -> dict[str, Kind]:
    name_param = Param(
        "name",
        "string",
        "Any part of the name (family, given, title, or the name as written), from its start; "
        "case and accents ignored.",
        _practitioner_name,
        f"{SPEC}Practitioner-name",
        frozenset({"exact", "contains"}),
    )
    return {
        "Practitioner": Kind(
            "Practitioner",
            practitioner_rows,
            resources.practitioner,
            _params(
                name_param,
                name_part_param("family", "family_name", "The family name."),
                name_part_param("given", "given_name", "The given name."),
                identifier_param(
                    "specialist",
                    "The specialist's slug (the address of the profile), system "
                    f"{resources.identifier_system('specialist')}.",
                    f"{SPEC}Practitioner-identifier",
                ),
                communication_param(),
                active_param(f"{SPEC}Practitioner-active"),
            ),
        ),
        "Organization": Kind(
            "Organization",
            organization_rows,
            resources.organization,
            _params(
                string_param(
                    "name", ["name"], "The name, from its start.", f"{SPEC}Organization-name"
                ),
                identifier_param(
                    "clinic",
                    "The clinic's slug (the address of its page), system "
                    f"{resources.identifier_system('clinic')}.",
                    f"{SPEC}Organization-identifier",
                ),
                organization_type_param(),
                reference_param(
                    "partof",
                    "Organization",
                    "parent_id",
                    "The hospital a department is part of.",
                    f"{SPEC}Organization-partof",
                    Q(parent__status=Status.PUBLISHED),
                ),
                active_param(f"{SPEC}Organization-active"),
            ),
        ),
        "Location": Kind(
            "Location",
            location_rows,
            resources.location,
            _params(
                string_param(
                    "name",
                    ["name", "clinic__name"],
                    "The name of the location or of its clinic, from its start.",
                    f"{SPEC}Location-name",
                ),
                *_address_params(),
                reference_param(
                    "organization",
                    "Organization",
                    "clinic_id",
                    "The clinic the location belongs to.",
                    f"{SPEC}Location-organization",
                ),
                near_param(),
            ),
            # Its accessibility facts change (an import) and stop counting (their age) without
            # a date of the location moving.
            dated=False,
        ),
        "PractitionerRole": Kind(
            "PractitionerRole",
            role_rows,
            resources.practitioner_role,
            _params(
                reference_param(
                    "practitioner",
                    "Practitioner",
                    "specialist_id",
                    "The specialist.",
                    f"{SPEC}PractitionerRole-practitioner",
                ),
                reference_param(
                    "organization",
                    "Organization",
                    "clinic_id",
                    "The clinic.",
                    f"{SPEC}PractitionerRole-organization",
                ),
                reference_param(
                    "location",
                    "Location",
                    "location_id",
                    "The location.",
                    f"{SPEC}PractitionerRole-location",
                ),
                specialty_param("specialist_id"),
                active_param(f"{SPEC}PractitionerRole-active"),
                *_role_address_params(),
            ),
        ),
    }


KINDS = _kinds()


# --- The plan ---------------------------------------------------------------------------------


@dataclass
class Plan:
    kind: Kind
    where: list[Q] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    after: int | None = None
    before: int | None = None
    includes: list[Include] = field(default_factory=list)
    revincludes: list[Include] = field(default_factory=list)
    total: bool = True
    accurate: bool = False  # _total=accurate: counted however many
    ignored: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # the query as understood


def lenient(request) -> bool:
    """`Prefer: handling=lenient`: unknown parameters are ignored (and reported in the
    Bundle) instead of failing the search."""
    preferences = re.split(r"[,;]", request.headers.get("Prefer", ""))
    return any(part.strip().replace(" ", "") == "handling=lenient" for part in preferences)


def _single(name: str, values: list[str]) -> str:
    if len(values) > 1:
        raise FhirError(400, "invalid", f"{name} may be given once.")
    return values[0]


def _page_id(name: str, value: str) -> int:
    if not is_id(value):
        raise FhirError(400, "invalid", f"{name}: '{value}' is not an ID of this server.")
    return int(value)


def _include_values(kind: Kind, name: str, values: list[str], reverse: bool) -> list[Include]:
    allowed = {
        include.value: include for include in (kind.revincludes if reverse else kind.includes)
    }
    chosen = []
    problems = []
    for value in values:
        parts = value.split(":")
        key = ":".join(parts[:2])
        include = allowed.get(key)
        if include is None or len(parts) > 3 or (len(parts) == 3 and parts[2] != include.target):
            known = ", ".join(allowed) or "none"
            problems.append(
                f"{name}={value} is not supported for {kind.name} (supported: {known})."
            )
        elif include not in chosen:
            chosen.append(include)
    if problems:
        raise FhirError(400, "not-supported", problems)
    return chosen


def plan(kind: Kind, request) -> Plan:
    """The request's query checked against the kind's declarations: every problem named at
    once (400), unknown parameters too unless the client prefers lenient handling."""
    result = Plan(kind)
    problems: list[tuple[str, str]] = []
    unknown: list[str] = []
    given = 0
    for key, raw_values in request.GET.lists():
        values = [value for value in raw_values if value != ""]
        name, _, modifier = key.partition(":")
        try:
            if _CONTROL.search(key) or any(_CONTROL.search(value) for value in values):
                raise FhirError(400, "invalid", f"{key}: control characters are not allowed.")
            if key in RESULT_PARAMETERS:
                if not values:
                    continue
                result.kept += [(key, value) for value in values]
                if key == "_count":
                    value = _single(key, values)
                    if not (value.isascii() and value.isdigit()) or len(value) > 9:
                        raise FhirError(400, "invalid", f"_count: '{value}' is not a number.")
                    if int(value) > MAX_COUNT:
                        raise FhirError(
                            400, "too-costly", f"_count: at most {MAX_COUNT} per page, not {value}."
                        )
                    result.count = int(value)
                elif key == "_total":
                    value = _single(key, values)
                    if value not in {"none", "estimate", "accurate"}:
                        raise FhirError(
                            400, "invalid", f"_total: '{value}' is not none, estimate or accurate."
                        )
                    result.total = value != "none"
                    result.accurate = value == "accurate"
                elif key in {"_after", "_before"}:
                    setattr(result, key[1:], kind.page_id(key, _single(key, values)))
                elif key in {"_include", "_revinclude"}:
                    chosen = _include_values(kind, key, values, reverse=key == "_revinclude")
                    if key == "_include":
                        result.includes += chosen
                    else:
                        result.revincludes += chosen
                elif key == "_pretty" and _single(key, values) not in {"true", "false"}:
                    raise FhirError(400, "invalid", "_pretty: true or false.")
                continue
            if name in RESULT_PARAMETERS:  # _include:iterate and the like
                raise FhirError(400, "not-supported", f"{key}: the modifier is not supported.")
            param = kind.params.get(name)
            if param is None:
                unknown.append(key)
                continue
            if modifier and modifier not in param.modifiers:
                raise FhirError(
                    400,
                    "not-supported",
                    f"{key}: the modifier ':{modifier}' is not supported for {name}.",
                )
            for value in values:  # repeated: AND; commas within one: OR
                alternatives = split_values(value)
                given += len(alternatives)
                if given > MAX_VALUES:
                    raise FhirError(
                        400, "too-costly", f"At most {MAX_VALUES} search values in one search."
                    )
                result.where.append(param.where(alternatives, modifier))
                result.kept.append((key, value))
        except FhirError as error:
            problems += error.issues
    if result.after is not None and result.before is not None:
        problems.append(("invalid", "_after and _before cannot be given together."))
    if unknown and not lenient(request):
        problems.append(
            (
                "not-supported",
                f"Unknown or unsupported search parameter(s) for {kind.name}: "
                f"{', '.join(unknown)}. The supported ones are listed in /fhir/metadata; send "
                "'Prefer: handling=lenient' to have unknown ones ignored.",
            )
        )
    if problems:
        raise FhirError.of(400, problems)
    result.ignored = unknown
    return result


# --- Running it -------------------------------------------------------------------------------


def matches(plan: Plan) -> QuerySet:
    rows = plan.kind.rows()
    for where in plan.where:
        rows = rows.filter(where)
    return rows


def _link(plan: Plan, relation: str, **paging) -> dict:
    query = [(key, value) for key, value in plan.kept if key not in {"_after", "_before"}]
    query += [(f"_{key}", str(value)) for key, value in paging.items()]
    url = f"{base_url()}/{plan.kind.name}"
    if query:
        url += "?" + urlencode(query, safe=":|,")
    return {"relation": relation, "url": url}


def entry(kind_name: str, resource: dict, mode: str) -> dict:
    return {
        "fullUrl": f"{base_url()}/{kind_name}/{resource['id']}",
        "resource": resource,
        "search": {"mode": mode},
    }


def outcome_entry(severity: str, code: str, diagnostics: str) -> dict:
    return {
        "resource": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
        },
        "search": {"mode": "outcome"},
    }


def searchset(plan: Plan, entries: list, total: int | None, links: list) -> dict:
    """The searchset Bundle of a search's entries, with a warning entry for the parameters
    ignored (lenient handling)."""
    if plan.ignored:
        entries.append(
            outcome_entry(
                "warning",
                "not-supported",
                f"Ignored unknown or unsupported search parameter(s): {', '.join(plan.ignored)}.",
            )
        )
    bundle = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = links
    if entries:
        bundle["entry"] = entries
    return bundle


def run(plan: Plan) -> dict:
    """The searchset Bundle of the plan."""
    if isinstance(plan.kind, PartedKind):
        return run_parted(plan)
    rows_query = matches(plan)
    total, few = _counted(plan, rows_query)
    rows: list = []
    has_next = has_previous = False
    if plan.count:
        if plan.before is not None:
            page = rows_query.filter(pk__lt=plan.before).order_by(*_order(["pk"], few, False))
            page = list(page[: plan.count + 1])
            has_previous = len(page) > plan.count
            rows = page[: plan.count][::-1]
            has_next = True
        else:
            page = rows_query.order_by(*_order(["pk"], few, True))
            if plan.after is not None:
                page = page.filter(pk__gt=plan.after)
                has_previous = True
            page = list(page[: plan.count + 1])
            has_next = len(page) > plan.count
            rows = page[: plan.count]
    links = [_link(plan, "self", **_cursor(plan)), _link(plan, "first")]
    if has_previous and rows:
        links.append(_link(plan, "previous", before=rows[0].pk))
    if has_next and rows:
        links.append(_link(plan, "next", after=rows[-1].pk))
    entries = [entry(plan.kind.name, plan.kind.to_resource(row), "match") for row in rows]
    seen = {(plan.kind.name, row.pk) for row in rows}
    for include in plan.includes:
        ids = {getattr(row, include.attribute) for row in rows} - {None}
        target = KINDS[include.target]
        ids -= {pk for kind, pk in seen if kind == target.name}
        if ids:
            for row in target.rows().filter(pk__in=ids).order_by("pk"):
                seen.add((target.name, row.pk))
                entries.append(entry(target.name, target.to_resource(row), "include"))
    for include in plan.revincludes:
        source = KINDS[include.source]
        ids = [row.pk for row in rows]
        if not ids:
            continue
        extra = source.rows().filter(**{f"{include.lookup}__in": ids}).order_by("pk")
        extra = list(extra[: MAX_REVINCLUDED + 1])
        if len(extra) > MAX_REVINCLUDED:
            extra = extra[:MAX_REVINCLUDED]
            entries.append(
                outcome_entry(
                    "warning",
                    "too-costly",
                    f"_revinclude={include.value}: only the first {MAX_REVINCLUDED} are "
                    "included; search them page by page instead.",
                )
            )
        for row in extra:
            if (source.name, row.pk) in seen:
                continue
            seen.add((source.name, row.pk))
            entries.append(entry(source.name, source.to_resource(row), "include"))
    return searchset(plan, entries, total, links)


def _counted(plan: Plan, rows: QuerySet) -> tuple[int | None, bool]:
    """Bundle.total (None: left out), and whether the matches are few (FEW_MATCHES). One
    count, up to MAX_COUNTED unless _total=accurate; none for an unfiltered _total=none."""
    if plan.total and plan.accurate:
        total = rows.count()
        return total, bool(plan.where) and total <= FEW_MATCHES
    if not plan.where and not plan.total:
        return None, False
    counted = rows.order_by()[: MAX_COUNTED + 1].count()
    total = counted if plan.total and counted <= MAX_COUNTED else None
    return total, bool(plan.where) and counted <= FEW_MATCHES


def _order(names: list[str], few: bool, forward: bool) -> list:
    """ORDER BY the key's fields, as they are (walking an index) or, for few matches, plus 0
    (sorting the matches)."""
    order = []
    for name in names:
        key = ExpressionWrapper(F(name) + 0, output_field=BigIntegerField()) if few else F(name)
        order.append(key.asc() if forward else key.desc())
    return order


def _cursor(plan: Plan) -> dict:
    if plan.after is not None:
        return {"after": plan.after}
    if plan.before is not None:
        return {"before": plan.before}
    return {}


def read(kind: Kind, resource_id: str) -> tuple[dict, datetime] | None:
    """The resource with that ID, if the public may see it, and when it last changed."""
    if isinstance(kind, PartedKind):
        return read_parted(kind, resource_id)
    if not is_id(resource_id):
        return None
    row = kind.rows().filter(pk=int(resource_id)).first()
    return (kind.to_resource(row), row.last_updated) if row is not None else None


def code_system_rows(name: str) -> tuple[list, datetime | None]:
    """The public entries of one of our code systems, and when the newest changed."""
    model = {"specialty": Specialty, "condition": Condition}[name]
    rows = list(
        model.objects.public().only("slug", *languages.columns("name"), "modified").order_by("slug")
    )
    newest = model.objects.public().aggregate(newest=Max("modified"))["newest"]
    return rows, newest


# --- Schedules and free slots -----------------------------------------------------------------
# Our own free times, as the SMART Scheduling Links feed publishes them (directory.slots.publish):
# a Schedule is one weekly times (WeeklyTemplate: a specialist's place of work, or a clinic's own
# times at a location) that has bookable slots; a Slot is one bookable slot made from them. Slots
# read from a practice's own feed belong to its vendor and are not served. The IDs are those of
# the feed's Schedule and Slot resources.

SLOT_STATUS = "http://hl7.org/fhir/slotstatus"


def _schedule_templates() -> QuerySet:
    """Weekly times whose listing the public sees: the clinic of the location published and,
    for a place of work, the specialist and the place of work's clinic too (the PractitionerRole
    it names is served)."""
    return WeeklyTemplate.objects.filter(location__clinic__status=Status.PUBLISHED).filter(
        Q(affiliation__isnull=True)
        | Q(
            affiliation__specialist__status=Status.PUBLISHED,
            affiliation__clinic__status=Status.PUBLISHED,
        )
    )


def schedule_rows() -> QuerySet:
    bookable = Slot.objects.bookable().filter(template_id=OuterRef("pk"))
    rows = (
        _schedule_templates()
        .filter(Exists(bookable))
        .select_related("location__clinic", "affiliation__specialist")
    )
    rows = rows.annotate(
        last_updated=Greatest(
            "modified",
            "location__modified",
            "location__clinic__modified",
            Coalesce("affiliation__modified", "modified"),
            Coalesce("affiliation__specialist__modified", "modified"),
        )
    )
    return rows.prefetch_related(
        Prefetch(
            "affiliation__specialist__specialties",
            queryset=Specialty.objects.public().order_by("name_en", "pk"),
            to_attr="public_specialties",
        )
    )


def slot_rows() -> QuerySet:
    """Bookable slots (free, not held, to come) of the served schedules. A slot has no time of
    its own: its lastUpdated is when its weekly times last made slots (so at least when it was
    made) or it, its location or its clinic changed."""
    rows = (
        Slot.objects.bookable()
        .filter(template__in=_schedule_templates())
        .select_related("location", "clinic")
    )
    return rows.annotate(
        last_updated=Greatest(
            "template__modified",
            Coalesce("template__generated_at", "template__modified"),
            "location__modified",
            "clinic__modified",
        )
    )


def moment_param(name: str, path: str, documentation: str, definition: str) -> Param:
    """A date parameter on a moment (`path`) with the prefixes of `_lastUpdated`."""

    def where(values: list[str], modifier: str) -> Q:
        queries = []
        for value in values:
            prefix, start, end = date_range(value, name)
            within = Q(**{f"{path}__gte": start, f"{path}__lt": end})
            queries.append(
                {
                    "eq": within,
                    "ne": ~within,
                    "gt": Q(**{f"{path}__gte": end}),
                    "sa": Q(**{f"{path}__gte": end}),
                    "ge": Q(**{f"{path}__gte": start}),
                    "lt": Q(**{f"{path}__lt": start}),
                    "eb": Q(**{f"{path}__lt": start}),
                    "le": Q(**{f"{path}__lt": end}),
                }[prefix]
            )
        return _any(queries)

    return Param(name, "date", documentation, where, definition)


def slot_status_param() -> Param:
    statuses = {"free", "busy", "busy-unavailable", "busy-tentative", "entered-in-error"}

    def where(values: list[str], modifier: str) -> Q:
        codes = set()
        for value in values:
            system, code = token(value)
            if code not in statuses:
                raise FhirError(
                    400,
                    "invalid",
                    f"status: '{value}' is not a slot status ({', '.join(sorted(statuses))}).",
                )
            if system in (None, SLOT_STATUS):
                codes.add(code)
        return Q() if "free" in codes else NOTHING

    return Param(
        "status",
        "token",
        f"free (every slot served is free; the other statuses of {SLOT_STATUS} find none).",
        where,
        f"{SPEC}Slot-status",
    )


def schedule_actor_param() -> Param:
    """A Schedule's actors: the place of work (PractitionerRole), its specialist (Practitioner)
    and the Location; a bare ID may be any of them."""

    def where(values: list[str], modifier: str) -> Q:
        queries = []
        for value in values:
            bare = is_id(value)
            kinds = {
                "PractitionerRole": "affiliation_id",
                "Practitioner": "affiliation__specialist_id",
                "Location": "location_id",
            }
            for kind, path in kinds.items():
                if bare or f"{kind}/" in value:
                    found = reference_ids(kind, [value])
                    if found:
                        queries.append(Q(**{f"{path}__in": found}))
        return _any(queries)

    return Param(
        "actor",
        "reference",
        "Whose times: a PractitionerRole (a specialist's place of work), a Practitioner or a "
        "Location (every schedule there, a clinic's own times too); a bare ID may be any of them.",
        where,
        f"{SPEC}Schedule-actor",
    )


def _scheduling_kinds() -> dict[str, Kind]:
    return {
        "Schedule": Kind(
            "Schedule",
            schedule_rows,
            resources.schedule,
            _params(schedule_actor_param(), active_param(f"{SPEC}Schedule-active")),
        ),
        "Slot": Kind(
            "Slot",
            slot_rows,
            resources.slot,
            _params(
                reference_param(
                    "schedule",
                    "Schedule",
                    "template_id",
                    "The schedule (weekly times) of the slot.",
                    f"{SPEC}Slot-schedule",
                ),
                moment_param(
                    "start",
                    "start",
                    "When the slot begins, with the prefixes eq, ne, gt, lt, ge, le, sa and eb "
                    "(start=ge2026-05-04&start=lt2026-05-05: that day); a date without a time "
                    "zone is read in Central European time.",
                    f"{SPEC}Slot-start",
                ),
                slot_status_param(),
            ),
        ),
    }


INCLUDES.append(Include("Slot", "schedule", "Schedule", "template_id", "template_id"))
KINDS.update(_scheduling_kinds())


# --- Healthcare services ----------------------------------------------------------------------
# HealthcareService is made of two sources, each a part of the type with an ID prefix of its own
# (FHIR IDs may hold letters, digits, "-" and "."):
#
#   dept-<clinic ID>                  a published department (a published clinic whose `parent`
#                                     is published): a service of the hospital, providedBy it
#   focus-<specialist ID>-<condition ID>
#                                     one item of a published specialist's treatment focus
#                                     (SpecialistCondition): the specialist's service for it
#
# Both are made of database IDs that never change (not the focus item's own ID: a spreadsheet
# import replaces a specialist's focus items when it changes them). A search pages over (part,
# key): the departments by ID, then the focus items by specialist and condition; `_after` and
# `_before` name such an ID. Each parameter says what it means for each part (its `where`
# answers one Q per part).


@dataclass(frozen=True)
class Part:
    name: str  # the ID prefix
    rows: Callable[[], QuerySet]  # what the public sees, annotated `last_updated`, prefetched
    to_resource: Callable[[object], dict]
    refers: Callable[[object], dict[str, list[int]]]  # the IDs a row refers to, per type
    complete: Callable[[list], None] | None = None  # one query more for a page's rows
    key: tuple[str, ...] = ("pk",)  # the fields of its IDs, unique together; its order

    def key_of(self, row) -> tuple[int, ...]:
        return tuple(getattr(row, name) for name in self.key)

    def naming(self, key: tuple[int, ...]) -> Q:
        return Q(**dict(zip(self.key, key, strict=True)))

    def beyond(self, key: tuple[int, ...], forward: bool) -> Q:
        """The rows after (or before) `key` in the order of the key's fields."""
        lookup = "gt" if forward else "lt"
        result = NOTHING
        for index, name in enumerate(self.key):
            equal = dict(zip(self.key[:index], key[:index], strict=True))
            result |= Q(**equal, **{f"{name}__{lookup}": key[index]})
        return result


@dataclass(frozen=True)
class PartedKind(Kind):
    parts: tuple[Part, ...] = ()
    own_includes: tuple[Include, ...] = ()

    @property
    def includes(self) -> list[Include]:
        return list(self.own_includes)

    @property
    def revincludes(self) -> list[Include]:
        return []

    def parse_id(self, value: str) -> tuple[int, tuple[int, ...]] | None:
        """`dept-12` as (the index of its part, (12,)), `focus-3-4` as (1, (3, 4)); None when
        it names no part's row."""
        prefix, *numbers = value.split("-")
        for index, part in enumerate(self.parts):
            if (
                part.name == prefix
                and len(numbers) == len(part.key)
                and all(is_id(number) for number in numbers)
            ):
                return index, tuple(int(number) for number in numbers)
        return None

    def format_id(self, key: tuple[int, tuple[int, ...]]) -> str:
        return "-".join([self.parts[key[0]].name, *(str(number) for number in key[1])])

    def page_id(self, name: str, value: str):
        parsed = self.parse_id(value)
        if parsed is None:
            raise FhirError(400, "invalid", f"{name}: '{value}' is not an ID of this server.")
        return parsed


def _no_rows() -> QuerySet:
    raise TypeError("A parted kind has no rows of its own: read its parts.")


def _no_resource(row) -> dict:
    raise TypeError("A parted kind makes resources by its parts.")


def parted_param(base: Param, **wheres: Callable[[list[str], str], Q]) -> Param:
    """`base` (name, type, documentation ...) with one `where` per part."""

    def where(values: list[str], modifier: str) -> dict[str, Q]:
        return {name: part_where(values, modifier) for name, part_where in wheres.items()}

    return Param(base.name, base.type, base.documentation, where, base.definition, base.modifiers)


def _published_places() -> QuerySet:
    """Places of work served as PractitionerRoles (role_rows without its joins)."""
    return Affiliation.objects.filter(
        specialist__status=Status.PUBLISHED,
        clinic__status=Status.PUBLISHED,
        location__clinic__status=Status.PUBLISHED,
    )


def department_rows() -> QuerySet:
    rows = (
        Clinic.objects.published()
        .filter(parent__status=Status.PUBLISHED)
        .select_related("parent")
        .annotate(last_updated=Greatest("modified", "parent__modified"))
    )
    rows = _with_folded(rows, ["name"])
    return rows.prefetch_related(
        Prefetch("locations", queryset=Location.objects.order_by("pk"), to_attr="service_locations")
    )


def complete_departments(rows: list) -> None:
    """Each department's medical fields (`public_specialties`): those of the published
    specialists who work there, in one query for all."""
    for row in rows:
        row.public_specialties = []
    if not rows:
        return
    links = (
        Specialist.specialties.through.objects.filter(
            specialty__needs_review=False,
            specialist__status=Status.PUBLISHED,
            specialist__affiliations__clinic_id__in=[row.pk for row in rows],
        )
        .select_related("specialty")
        .annotate(department_id=F("specialist__affiliations__clinic_id"))
    )
    fields: dict[int, dict[int, Specialty]] = {}
    for link in links:
        fields.setdefault(link.department_id, {})[link.specialty_id] = link.specialty
    for row in rows:
        found = fields.get(row.pk, {}).values()
        row.public_specialties = sorted(found, key=lambda field: (field.name_en, field.pk))


def focus_rows() -> QuerySet:
    places = _published_places().order_by("-is_primary", "pk")
    first = places.filter(specialist_id=OuterRef("specialist_id"))
    rows = (
        SpecialistCondition.objects.filter(
            specialist__status=Status.PUBLISHED, condition__needs_review=False
        )
        .select_related("specialist", "condition")
        .annotate(
            last_updated=F("specialist__modified"),
            provider_id=Subquery(first.values("clinic_id")[:1]),
            provider_name=Subquery(first.values("clinic__name")[:1]),
        )
    )
    return rows.prefetch_related(
        Prefetch(
            "specialist__specialties",
            queryset=Specialty.objects.public().order_by("name_en", "pk"),
            to_attr="public_specialties",
        ),
        Prefetch(
            "specialist__affiliations",
            queryset=places.select_related("location__clinic"),
            to_attr="service_places",
        ),
    )


def _department_refers(row) -> dict[str, list[int]]:
    return {
        "Organization": [row.parent_id],
        "Location": [place.pk for place in row.service_locations],
    }


def _focus_refers(row) -> dict[str, list[int]]:
    return {
        "Organization": [row.provider_id] if row.provider_id else [],
        "Location": list(dict.fromkeys(p.location_id for p in row.specialist.service_places)),
    }


def _service_ids(values: list[str], modifier: str) -> dict[str, Q]:
    kind = KINDS["HealthcareService"]
    found = {part.name: NOTHING for part in kind.parts}
    for value in values:
        parsed = kind.parse_id(value)
        if parsed is not None:
            part = kind.parts[parsed[0]]
            found[part.name] |= part.naming(parsed[1])
    return found


def _same_for_each_part(param: Param) -> Param:
    return parted_param(param, dept=param.where, focus=param.where)


def _service_params() -> dict[str, Param]:
    def department_location(values: list[str], modifier: str) -> Q:
        ids = reference_ids("Location", values)
        return Q(Exists(Location.objects.filter(clinic_id=OuterRef("pk"), pk__in=ids)))

    def focus_location(values: list[str], modifier: str) -> Q:
        ids = reference_ids("Location", values)
        places = _published_places().filter(
            specialist_id=OuterRef("specialist_id"), location_id__in=ids
        )
        return Q(Exists(places))

    def department_specialty(values: list[str], modifier: str) -> Q:
        fields = Specialist.specialties.through.objects.filter(
            specialty_codes(values),
            specialty__needs_review=False,
            specialist__status=Status.PUBLISHED,
            specialist__affiliations__clinic_id=OuterRef("pk"),
        )
        return Q(Exists(fields))

    specialty = specialty_param("specialist_id")
    department_name = string_param("name", ["name"], "")
    condition_name = string_param("name", languages.columns("name"), "")

    def focus_name(values: list[str], modifier: str) -> Q:
        """A specialist's service is named by its condition (in any language) and its
        specialist: each looked up in its own table, by its own index, never by folding the
        million services."""
        conditions = _with_folded(Condition.objects.all(), languages.columns("name"))
        conditions = conditions.filter(condition_name.where(values, modifier))
        specialists = named_specialists().filter(_practitioner_name(values, modifier))
        return Q(condition__in=conditions.values("pk")) | Q(specialist__in=specialists.values("pk"))

    params = [
        Param(
            "_id",
            "token",
            "The resource's ID: dept-<clinic ID> or focus-<specialist ID>-<condition ID>.",
            _service_ids,
            f"{SPEC}Resource-id",
        ),
        _same_for_each_part(last_updated_param()),
        parted_param(
            reference_param(
                "organization",
                "Organization",
                "",
                "The organization that provides the service (providedBy): a department's "
                "hospital, the clinic of a specialist's first place of work.",
                f"{SPEC}HealthcareService-organization",
            ),
            dept=lambda values, modifier: Q(parent_id__in=reference_ids("Organization", values)),
            focus=lambda values, modifier: Q(provider_id__in=reference_ids("Organization", values)),
        ),
        parted_param(
            Param(
                "location",
                "reference",
                "Where the service is offered: a department's locations, the locations of a "
                "specialist's places of work.",
                department_location,
                f"{SPEC}HealthcareService-location",
            ),
            dept=department_location,
            focus=focus_location,
        ),
        parted_param(
            Param(
                "specialty",
                "token",
                specialty.documentation,
                specialty.where,
                f"{SPEC}HealthcareService-specialty",
            ),
            dept=department_specialty,
            focus=specialty.where,
        ),
        parted_param(
            Param(
                "name",
                "string",
                "A department's name; a specialist's service: the name of the condition or "
                "treatment (English or German) or the specialist's name (as Practitioner's "
                "name); from its start, case and accents ignored.",
                department_name.where,
                f"{SPEC}HealthcareService-name",
                department_name.modifiers,
            ),
            dept=department_name.where,
            focus=focus_name,
        ),
        _same_for_each_part(active_param(f"{SPEC}HealthcareService-active")),
    ]
    return {param.name: param for param in params}


def _service_kinds() -> dict[str, Kind]:
    return {
        "HealthcareService": PartedKind(
            "HealthcareService",
            _no_rows,
            _no_resource,
            _service_params(),
            # A service says its specialist's places and clinics, whose changes its date does
            # not follow.
            dated=False,
            parts=(
                Part(
                    "dept",
                    department_rows,
                    resources.department_service,
                    _department_refers,
                    complete_departments,
                ),
                Part(
                    "focus",
                    focus_rows,
                    resources.focus_service,
                    _focus_refers,
                    key=("specialist_id", "condition_id"),
                ),
            ),
            own_includes=(
                Include("HealthcareService", "organization", "Organization", "", ""),
                Include("HealthcareService", "location", "Location", "", ""),
            ),
        )
    }


def _parted_cursor(plan: Plan) -> dict:
    kind = plan.kind
    if plan.after is not None:
        return {"after": kind.format_id(plan.after)}
    if plan.before is not None:
        return {"before": kind.format_id(plan.before)}
    return {}


def run_parted(plan: Plan) -> dict:
    """The searchset Bundle of a plan on a parted kind: as `run`, over (part, ID). Every part
    is counted and read whatever `_count` is (one page of each), so the queries do not depend
    on it."""
    kind = plan.kind
    queries = []
    for part in kind.parts:
        rows = part.rows()
        for where in plan.where:
            rows = rows.filter(where[part.name])
        queries.append(rows)
    counted = [_counted(plan, rows) for rows in queries]
    totals = [total for total, _few in counted]
    total = sum(totals) if plan.total and None not in totals else None
    if total is not None and total > MAX_COUNTED and not plan.accurate:
        total = None  # as for any type: left out beyond MAX_COUNTED
    forward = plan.before is None
    cursor = plan.after if forward else plan.before
    order = list(range(len(kind.parts)))
    if not forward:
        order.reverse()
    fetched: list[tuple[int, object]] = []
    if plan.count:
        for index in order:
            rows, part = queries[index], kind.parts[index]
            if cursor is not None:
                if index == cursor[0]:
                    rows = rows.filter(part.beyond(cursor[1], forward))
                elif (index < cursor[0]) == forward:
                    continue
            few = counted[index][1]
            page = list(rows.order_by(*_order(part.key, few, forward))[: plan.count + 1])
            if part.complete is not None:
                part.complete(page)
            fetched += [(index, row) for row in page]
    more = len(fetched) > plan.count
    matched = fetched[: plan.count]
    if forward:
        has_previous, has_next = cursor is not None, more
    else:
        matched.reverse()
        has_previous, has_next = more, True
    links = [_link(plan, "self", **_parted_cursor(plan)), _link(plan, "first")]
    if has_previous and matched:
        index, row = matched[0]
        links.append(
            _link(plan, "previous", before=kind.format_id((index, kind.parts[index].key_of(row))))
        )
    if has_next and matched:
        index, row = matched[-1]
        links.append(
            _link(plan, "next", after=kind.format_id((index, kind.parts[index].key_of(row))))
        )
    entries = [
        entry(kind.name, kind.parts[index].to_resource(row), "match") for index, row in matched
    ]
    for include in plan.includes:
        ids: set[int] = set()
        for index, row in matched:
            ids.update(kind.parts[index].refers(row).get(include.target, []))
        target = KINDS[include.target]
        if ids:
            for row in target.rows().filter(pk__in=ids).order_by("pk"):
                entries.append(entry(target.name, target.to_resource(row), "include"))
    return searchset(plan, entries, total, links)


def read_parted(kind: PartedKind, resource_id: str) -> tuple[dict, datetime] | None:
    parsed = kind.parse_id(resource_id)
    if parsed is None:
        return None
    part = kind.parts[parsed[0]]
    row = part.rows().filter(part.naming(parsed[1])).first()
    if row is None:
        return None
    if part.complete is not None:
        part.complete([row])
    return part.to_resource(row), row.last_updated


KINDS.update(_service_kinds())
