"""The specialists CSV (README, "Data"): import (with a dry run) and export, one format both ways.

Import is all or nothing: every row is checked first; if any row has an error, nothing changes and
every error is reported with its row number. Importing the same file twice changes nothing the
second time, and export -> import is a round trip.
"""

import csv
import difflib
import gc
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import connection, transaction
from django.db.models import Prefetch, signals
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from core import languages as site_languages
from directory.hours import HoursError, format_hours
from directory.hours import parse as parse_hours
from directory.models import (
    HOURS_MAX_LENGTH,
    LANGUAGE_CODES,
    Affiliation,
    Clinic,
    Condition,
    Country,
    FactSource,
    Feature,
    Insurance,
    Location,
    LocationFeature,
    Service,
    Specialist,
    SpecialistCondition,
    Specialty,
    Status,
    slugify_name,
)
from directory.places import fold, resolve_place
from directory.search import index
from directory.spreadsheets import SpreadsheetError, read_table, write_csv, write_xlsx

# The position and biography in French and Italian, added with those languages: last, so that
# files of the earlier format keep their columns where they were.
FRENCH_AND_ITALIAN_COLUMNS = ["headline_fr", "headline_it", "bio_fr", "bio_it"]
COLUMNS = [
    "slug",
    "prefix",
    "given_name",
    "family_name",
    "headline",
    "headline_de",
    "specialties",
    "conditions",
    "languages",
    "insurance",
    "new_patients",
    "clinic",
    "street",
    "postcode",
    "city",
    "country",
    "phone",
    "email",
    "website",
    "latitude",
    "longitude",
    "bio_en",
    "bio_de",
    "status",
    "hours",
    "accessibility",
    "services",
    *FRENCH_AND_ITALIAN_COLUMNS,
]
# Columns a file may leave out (added after the format was first published): what they fill is
# then left as it is.
OPTIONAL_COLUMNS = {
    "headline_de",
    "hours",
    "accessibility",
    "services",
    *FRENCH_AND_ITALIAN_COLUMNS,
}
MULTI_SEPARATOR = ";"
IMPORTABLE_STATUSES = {Status.DRAFT.value, Status.PUBLISHED.value}
INSURANCE_CODES = set(Insurance.values)
# The first row of data is row 2: row 1 is the header, as a spreadsheet numbers them.
FIRST_DATA_ROW = 2


class CsvFormatError(Exception):
    """The file cannot be read as our CSV at all (encoding, header)."""


@dataclass
class RowResult:
    row: int
    slug: str
    action: str  # "create", "update" or "unchanged"
    changes: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import did or would do. Each row's result is kept in `results`, or, when the
    import was given `on_result`, handed to it as soon as it is known and only counted (a file
    of any length then takes the same memory)."""

    results: list[RowResult] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    new_specialties: list[str] = field(default_factory=list)
    new_conditions: list[str] = field(default_factory=list)
    new_clinics: list[str] = field(default_factory=list)
    applied: bool = False
    source: str = ""  # what the file was read as: "CSV, semicolon-separated, Windows-1252"
    rows: int = 0  # rows with data in the file
    counts: Counter = field(default_factory=Counter)
    on_result: Callable[[RowResult], None] | None = field(default=None, repr=False)

    def add(self, result: RowResult) -> None:
        self.counts[result.action] += 1
        if self.on_result is None:
            self.results.append(result)
        else:
            self.on_result(result)

    def count(self, action: str) -> int:
        return self.counts[action]

    @property
    def ok(self) -> bool:
        return not self.errors


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(MULTI_SEPARATOR) if part.strip()]


def _join(values) -> str:
    return MULTI_SEPARATOR.join(values)


# The column `accessibility` gives the facts of the practice address as Feature codes, each
# with "-" before it when the place states it does not have it ("step_free;-induction_loop");
# `services` gives what the place of work offers as Service codes ("video;home_visits").
FEATURE_CODES = list(Feature.values)
SERVICE_CODES = list(Service.values)
ABSENT = "-"


def _parse_codes(value: str, codes: list[str], label: str, errors: list[str]) -> dict[str, bool]:
    """The codes of a cell -> whether each is there ("-code": it is not), in the order of
    `codes`; an unknown code, a code given twice or given both with and without "-" is an
    error naming it. `label` names a code in the errors ("accessibility code")."""
    given: dict[str, bool] = {}
    for part in _split(value):
        present = not part.startswith(ABSENT)
        code = (part if present else part[len(ABSENT) :].strip()).lower()
        if code not in codes:
            close = difflib.get_close_matches(code, codes, n=1, cutoff=0.6)
            hint = f"; did you mean: {close[0]}?" if close else f" (use {', '.join(codes)})"
            errors.append(f"unknown {label} {code!r}{hint}")
        elif code not in given:
            given[code] = present
        elif given[code] == present:
            errors.append(f"{label} {code!r} is given twice")
        else:
            errors.append(f"{label} {code!r} is given both with and without {ABSENT!r}")
    return {code: given[code] for code in codes if code in given}


def parse_accessibility(value: str, errors: list[str]) -> dict[str, bool]:
    """The cell `accessibility`: Feature code -> whether the place has it, in Feature order."""
    return _parse_codes(value, FEATURE_CODES, "accessibility code", errors)


def format_accessibility(facts: dict[str, bool]) -> str:
    """Facts as the column gives them: in Feature order, those not there with "-"."""
    return _join(("" if facts[code] else ABSENT) + code for code in FEATURE_CODES if code in facts)


def parse_services(value: str, errors: list[str]) -> tuple[str, ...]:
    """The cell `services`: the Service codes offered, in Service order. A service not offered
    is left out, so "-video" is an error."""
    given = _parse_codes(value, SERVICE_CODES, "service", errors)
    for code, offered in given.items():
        if not offered:
            errors.append(
                f"services lists only what is offered: leave {code!r} out rather than "
                f"writing {ABSENT + code!r}"
            )
    return tuple(code for code, offered in given.items() if offered)


# A cell that begins with one of these is taken for a formula by spreadsheet programs
# (`=HYPERLINK(...)` opens a link). Export puts an apostrophe before it, which spreadsheets show
# as text and the import removes again, so export -> import stays exact.
FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")


def guard_formula(value: str) -> str:
    """The cell as exported: an apostrophe before anything a spreadsheet would run."""
    return "'" + value if FORMULA_START.match(value) else value


def unguard_formula(value: str) -> str:
    """The cell as imported: the exporter's apostrophe removed (and only that one)."""
    return value[1:] if value.startswith("'") and FORMULA_START.match(value[1:]) else value


def read_rows(data: bytes | str | BinaryIO) -> list[dict]:
    """Parse the file (CSV in any of the encodings and with any of the separators spreadsheet
    programs write, or XLSX: directory.spreadsheets); raises CsvFormatError when it cannot be
    read or the header is wrong."""
    return list(read_file(data)[0])


ROW_NUMBER = "__row__"  # each row's number in the file (the header is row 1)


def read_file(data: bytes | str | BinaryIO) -> tuple[Iterator[dict], str]:
    """The rows of the file as they are read, each with its number in the file (ROW_NUMBER:
    empty rows are skipped but counted), and what it was ("CSV, semicolon-separated,
    Windows-1252"). The header is checked at once; a row the reader cannot take raises
    CsvFormatError when it is reached."""
    try:
        table = read_table(data, COLUMNS)
    except SpreadsheetError as error:
        raise CsvFormatError(str(error)) from None
    header = [name.strip() for name in table.header]
    while header and not header[-1]:
        header.pop()  # an empty column right of the table (a trailing separator)
    missing = [
        column for column in COLUMNS if column not in header and column not in OPTIONAL_COLUMNS
    ]
    unknown = [column for column in header if column not in COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(_("missing columns: %(names)s") % {"names": ", ".join(missing)})
        if unknown:
            names = ", ".join(repr(c) for c in unknown)
            problems.append(_("unknown columns: %(names)s") % {"names": names})
        raise CsvFormatError(
            _(
                "The header row does not match the format (%(problems)s); the file was read as "
                "%(source)s. The first row must hold the column names of the export."
            )
            % {"problems": "; ".join(problems), "source": table.description}
        )
    return _rows(table, header), table.description


def _rows(table, header: list[str]) -> Iterator[dict]:
    try:
        for number, cells in enumerate(table.rows, start=FIRST_DATA_ROW):
            if not any(cell.strip() for cell in cells):
                continue  # an empty line
            extra = cells[len(header) :]
            if any(cell.strip() for cell in extra):
                yield {"__error__": "the row has more cells than the header", ROW_NUMBER: number}
                continue
            cells = cells[: len(header)] + [""] * (len(header) - len(cells))
            values = zip(header, cells, strict=True)
            row = {key: unguard_formula((value or "").strip()) for key, value in values}
            row[ROW_NUMBER] = number
            yield row
    except csv.Error as error:  # e.g. a cell longer than the csv module's field limit
        raise CsvFormatError(
            _("Line %(line)s cannot be read (%(error)s); nothing was imported.")
            % {"line": table.line_number(), "error": error}
        ) from None


class _Taxonomy:
    """Finds medical fields and conditions by slug, name or synonym in either language, and
    clinics by slug or name, with case, accents and umlauts ignored. An unknown field or
    condition is a row error naming the nearest known names, unless the import creates taxonomy
    on purpose (then it is created flagged for review, hidden from the public site until an
    editor approves it); an unknown clinic is created. Loads each table once, and looks up each
    city once."""

    KINDS = {"specialties": "medical field", "conditions": "condition or treatment"}
    PLACES_KEPT = 1000  # cities remembered at once (a file is mostly a few cities)

    def __init__(self, report: ImportReport, *, create_taxonomy: bool = False):
        self.report = report
        self.create_taxonomy = create_taxonomy
        self.specialties = self._index(Specialty.objects.all(), translated=True)
        self.conditions = self._index(Condition.objects.all(), translated=True)
        self.clinics = self._index(Clinic.objects.all(), translated=False)
        self.pending: dict[tuple[str, str], object] = {}
        self.places: dict[tuple[str, str], object] = {}

    @staticmethod
    def _index(queryset, *, translated: bool) -> dict[str, object]:
        """Folded slug, names and synonyms -> entry; names before synonyms, so a synonym another
        entry uses as its name never shadows that entry."""
        index: dict[str, object] = {}
        for obj in queryset:
            names = (
                [getattr(obj, c) for c in site_languages.columns("name")]
                if translated
                else [obj.name]
            )
            for name in filter(None, names):
                index.setdefault(fold(name), obj)
            index.setdefault(fold(obj.slug), obj)
        if translated:
            for obj in queryset:
                for synonyms in (getattr(obj, c) for c in site_languages.columns("synonyms")):
                    for line in (synonyms or "").splitlines():
                        if fold(line):
                            index.setdefault(fold(line), obj)
        return index

    def place(self, city: str, country: str):
        """The gazetteer place of a city, looked up once per import. Runs a query."""
        key = (city.casefold(), country)
        if key not in self.places:
            if len(self.places) >= self.PLACES_KEPT:
                del self.places[next(iter(self.places))]  # the one looked up longest ago
            self.places[key] = resolve_place(city, country=country)
        return self.places[key]

    def nearest(self, kind: str, name: str) -> list[str]:
        """Up to three known names most like `name`, for a row error."""
        index = getattr(self, kind)
        close = difflib.get_close_matches(fold(name), list(index), n=6, cutoff=0.6)
        names = []
        for key in close:
            entry = index[key]
            name = getattr(entry, "name_en", None) or str(entry)
            if name not in names:
                names.append(name)
        return names[:3]

    def find_or_plan(self, kind: str, name: str, errors: list[str]):
        index = getattr(self, kind)
        found = index.get(fold(name))
        if found is not None:
            return found
        if kind != "clinics" and not self.create_taxonomy:
            nearest = self.nearest(kind, name)
            hint = f"; did you mean: {', '.join(nearest)}?" if nearest else ""
            errors.append(
                f"unknown {self.KINDS[kind]} {name!r}{hint} (import with --create-taxonomy to "
                "add it, flagged for review)"
            )
            return None
        key = (kind, fold(name))
        if key not in self.pending:
            self.pending[key] = name
            getattr(self.report, f"new_{kind}").append(name)
        return self.pending[key]


@dataclass
class _PlannedRow:
    row: int
    specialist: Specialist | None
    values: dict
    specialties: list
    conditions: list
    clinic: object
    address: dict
    latitude: float | None
    longitude: float | None
    coordinates_given: bool
    hours: str | None = None  # the practice's opening hours, tidied; None: the file has none
    # The practice's accessibility facts (Feature code -> whether it is there) and the services
    # of the place of work (Service codes); None: the file has no such column.
    accessibility: dict[str, bool] | None = None
    services: tuple[str, ...] | None = None


def _parse_coordinate(value: str, low: float, high: float, name: str, errors: list[str]):
    if not value:
        return None
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        errors.append(f"{name} must be a number, not {value!r}")
        return None
    if not low <= number <= high:
        errors.append(f"{name} must be between {low:g} and {high:g}")
        return None
    return number


def _column_limits() -> dict[str, int]:
    """The longest value each column may hold: the length of the model field it is stored in."""
    fields = {
        "slug": (Specialist, "slug"),
        "prefix": (Specialist, "honorific_prefix"),
        "given_name": (Specialist, "given_name"),
        "family_name": (Specialist, "family_name"),
        "headline": (Specialist, "headline_en"),
        "headline_de": (Specialist, "headline_de"),
        "headline_fr": (Specialist, "headline_fr"),
        "headline_it": (Specialist, "headline_it"),
        "phone": (Specialist, "phone"),
        "email": (Specialist, "email"),
        "website": (Specialist, "website"),
        "clinic": (Clinic, "name"),
        "street": (Location, "street"),
        "postcode": (Location, "postcode"),
        "city": (Location, "city"),
    }
    return {
        column: model._meta.get_field(name).max_length for column, (model, name) in fields.items()
    }


def _check_row(row: dict, taxonomy: _Taxonomy, existing: dict, first_rows: dict) -> tuple:
    """Validate one row and plan what it changes; returns (plan or None, errors)."""
    errors: list[str] = []
    if "__error__" in row:
        return None, [row["__error__"]]
    slug = row["slug"].lower()
    if slug:
        if slugify(slug) != slug:
            errors.append(f"slug {row['slug']!r} may only contain letters, digits and hyphens")
        elif first_rows[slug] != row[ROW_NUMBER]:
            errors.append(f"slug {slug!r} appears twice in the file")
    for column in ("given_name", "family_name", "clinic", "street", "postcode", "city", "country"):
        if not row[column]:
            errors.append(f"{column} is required")
    country = row["country"].upper()
    if country and country not in Country.values:
        errors.append(f"country must be DE, AT or CH, not {row['country']!r}")
    languages = [code.lower() for code in _split(row["languages"])]
    for code in languages:
        if code not in LANGUAGE_CODES:
            errors.append(f"unknown language code {code!r} (use ISO 639-1, e.g. de, en, fr)")
    insurance = [code.lower() for code in _split(row["insurance"])]
    for code in insurance:
        if code not in INSURANCE_CODES:
            errors.append(f"insurance must be statutory, private or self_pay, not {code!r}")
    new_patients = row["new_patients"].lower()
    if new_patients not in {"yes", "no"}:
        errors.append(f"new_patients must be yes or no, not {row['new_patients']!r}")
    status = row["status"].lower()
    if status not in IMPORTABLE_STATUSES:
        errors.append(f"status must be draft or published, not {row['status']!r}")
    if row["email"]:
        try:
            EmailValidator()(row["email"])
        except ValidationError:
            errors.append(f"email {row['email']!r} is not a valid address")
    if row["website"]:
        try:
            URLValidator(schemes=["http", "https"])(row["website"])
        except ValidationError:
            errors.append(f"website {row['website']!r} is not a valid http(s) address")
    for column, limit in _column_limits().items():
        if len(row.get(column, "")) > limit:
            errors.append(f"{column} is longer than {limit} characters")
    for column, model in (("specialties", Specialty), ("conditions", Condition)):
        limit = model._meta.get_field("name_en").max_length
        for name in _split(row[column]):
            if len(name) > limit:
                errors.append(f"a name in {column} is longer than {limit} characters")
    opening = None
    if "hours" in row:
        try:
            opening = format_hours(parse_hours(row["hours"]))
        except HoursError as error:
            errors.append(f"hours {row['hours']!r}: {error}")
        else:
            if len(opening) > HOURS_MAX_LENGTH:
                errors.append(f"hours are longer than {HOURS_MAX_LENGTH} characters written out")
    accessibility = None
    if "accessibility" in row:
        accessibility = parse_accessibility(row["accessibility"], errors)
    services = None
    if "services" in row:
        services = parse_services(row["services"], errors)
    latitude = _parse_coordinate(row["latitude"], -90, 90, "latitude", errors)
    longitude = _parse_coordinate(row["longitude"], -180, 180, "longitude", errors)
    coordinates_given = latitude is not None and longitude is not None
    if (latitude is None) != (longitude is None) and not errors:
        errors.append("give both latitude and longitude, or neither")
    if latitude is None and row["city"] and country in Country.values:
        place = taxonomy.place(row["city"], country)
        if place is None:
            errors.append(
                f"city {row['city']!r} is not in the gazetteer for {country}; "
                "give latitude and longitude"
            )
        else:
            latitude, longitude = place.latitude, place.longitude
    specialties = [
        taxonomy.find_or_plan("specialties", name, errors) for name in _split(row["specialties"])
    ]
    conditions = [
        taxonomy.find_or_plan("conditions", name, errors) for name in _split(row["conditions"])
    ]
    clinic = taxonomy.find_or_plan("clinics", row["clinic"], errors) if row["clinic"] else None
    if errors:
        return None, errors
    values = {
        "honorific_prefix": row["prefix"],
        "given_name": row["given_name"],
        "family_name": row["family_name"],
        "headline_en": row["headline"],
        **{
            f"headline_{c}": row[f"headline_{c}"]
            for c in ("de", "fr", "it")
            if f"headline_{c}" in row
        },
        "languages": languages,
        "insurance": [code for code in Insurance.values if code in insurance],
        "accepts_new_patients": new_patients == "yes",
        "phone": row["phone"],
        "email": row["email"],
        "website": row["website"],
        "biography_en": row["bio_en"],
        "biography_de": row["bio_de"],
        **{f"biography_{c}": row[f"bio_{c}"] for c in ("fr", "it") if f"bio_{c}" in row},
        "status": status,
    }
    plan = _PlannedRow(
        row=0,
        specialist=existing.get(slug) if slug else None,
        values={"slug": slug, **values},
        specialties=specialties,
        conditions=conditions,
        clinic=clinic,
        address={
            "street": row["street"],
            "postcode": row["postcode"],
            "city": row["city"],
            "country": country,
        },
        latitude=latitude,
        longitude=longitude,
        coordinates_given=coordinates_given,
        hours=opening,
        accessibility=accessibility,
        services=services,
    )
    return plan, []


def _unique_slug(model, name: str, taken: Container[str] = frozenset()) -> str:
    """A slug for `name` that neither `model` nor `taken` uses yet (`name-2`, `name-3` ...).
    Runs a query per candidate."""
    max_length = model._meta.get_field("slug").max_length - 10
    base = slugify_name(name)[:max_length] or model._meta.model_name
    slug, number = base, 2
    while slug in taken or model.objects.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    return slug


def _primary_affiliation(specialist: Specialist) -> Affiliation | None:
    return next((a for a in specialist.affiliations.all() if a.is_primary), None)


# Specialist fields stored under another name than the CSV column that fills them.
COLUMN_OF_FIELD = {
    "honorific_prefix": "prefix",
    "headline_en": "headline",
    "biography_en": "bio_en",
    "biography_de": "bio_de",
    "biography_fr": "bio_fr",
    "biography_it": "bio_it",
    "accepts_new_patients": "new_patients",
}


def _describe_changes(plan: _PlannedRow) -> list[str]:
    """The names of the columns whose values differ from the stored specialist."""
    specialist = plan.specialist
    changes = [
        COLUMN_OF_FIELD.get(name, name)
        for name, value in plan.values.items()
        if name != "slug" and _stored(specialist, name) != value
    ]
    if {s.pk for s in specialist.specialties.all()} != {
        getattr(s, "pk", None) for s in plan.specialties
    }:
        changes.append("specialties")
    stored_conditions = [link.condition_id for link in specialist.specialistcondition_set.all()]
    planned_conditions = list(dict.fromkeys(getattr(c, "pk", c) for c in plan.conditions))
    if stored_conditions != planned_conditions:
        changes.append("conditions")
    primary = _primary_affiliation(specialist)
    if primary is None or primary.clinic_id != getattr(plan.clinic, "pk", None):
        changes.append("clinic")
    elif {k: getattr(primary.location, k) for k in plan.address} != plan.address or (
        _coordinates_for(primary.location, plan)
        != (primary.location.latitude, primary.location.longitude)
    ):
        changes.append("address")
    if "clinic" not in changes:
        location = primary.location
        if plan.hours is not None and location.hours != plan.hours:
            changes.append("hours")
        if plan.accessibility is not None and _stored_facts(location) != plan.accessibility:
            changes.append("accessibility")
        if plan.services is not None and tuple(primary.services) != plan.services:
            changes.append("services")
    return changes


def _stored_facts(location: Location) -> dict[str, bool]:
    """A location's accessibility facts (prefetched), as the column gives them."""
    return {fact.feature: fact.present for fact in location.features.all()}


def _stored(specialist: Specialist, name: str):
    value = getattr(specialist, name)
    return "" if value is None else value


def _coordinates_for(location: Location | None, plan: _PlannedRow) -> tuple:
    """The file's coordinates; without them, a known location keeps its own (an editor may have
    set them more precisely than the gazetteer's city centre)."""
    if not plan.coordinates_given and location is not None and location.latitude is not None:
        return (location.latitude, location.longitude)
    return (plan.latitude, plan.longitude)


PROGRESS_EVERY = 1000  # rows between two calls of an import's `progress`
CHUNK_ROWS = 100  # rows checked and written together
REINDEX_ROWS = 1000  # listings written before their search rows are (fewer, larger rewrites)


class _DiscardError(Exception):
    """Leaves the import's transaction without keeping anything (a dry run, a row error)."""


def import_specialists(
    data: bytes | str | BinaryIO,
    *,
    dry_run: bool = False,
    user=None,
    create_taxonomy: bool = False,
    progress=None,
    on_result: Callable[[RowResult], None] | None = None,
) -> ImportReport:
    """Import the file all or nothing: every row is checked, and the rows are written (unless a
    dry run) in one transaction that keeps nothing if any row has an error. `data` is the
    file's bytes or text, or a binary file open for reading (read twice, from its beginning).
    `user` is who imports (None for a command); raises CsvFormatError for a file that cannot be
    read (nothing is written before the whole file has been read once).

    Streams: the file is read once to check it as a file and learn its slugs, then again in
    chunks of CHUNK_ROWS rows, each checked and written before the next is read, so memory
    does not grow with the file beyond its slugs (and, unless `on_result` takes them, the
    rows' results). Each chunk loads its listings at once; each city is looked up once;
    changed values are written in bulk. `progress(step, done, total)`, if given, hears every
    PROGRESS_EVERY rows of each step ("checked", "written")."""
    rows, source = read_file(data)
    report = ImportReport(source=source, on_result=on_result)
    try:
        with transaction.atomic():
            slugs = _Slugs()
            report.rows = slugs.load(rows)  # all of the file is read before anything is written
            if not report.rows:
                report.errors.append((FIRST_DATA_ROW, "the file has no rows"))
                raise _DiscardError
            taxonomy = _Taxonomy(report, create_taxonomy=create_taxonomy)
            writer = None if dry_run else _Writer(taxonomy, user, slugs=slugs, progress=progress)
            rows, _source = read_file(data)
            done = 0
            # What a chunk leaves behind is collected after it (querysets make reference
            # cycles); the objects that were there before are set aside, so that is quick.
            freeze = gc.get_freeze_count() == 0  # not undoing a freeze made elsewhere
            if freeze:
                gc.freeze()
            try:
                with index.deferred():
                    while chunk := list(islice(rows, CHUNK_ROWS)):
                        planned = _check_chunk(chunk, done, report.rows, taxonomy, slugs, progress)
                        if writer is not None and report.ok:
                            writer.write(planned, done, report.rows)
                            index.flush(at_least=REINDEX_ROWS)
                        for _plan, result in planned:
                            report.add(result)
                        done += len(chunk)
                        del chunk, planned
                        gc.collect()
                    if dry_run or not report.ok:
                        raise _DiscardError
            finally:
                if freeze:
                    gc.unfreeze()
    except _DiscardError:
        return report
    report.applied = True
    return report


class _Slugs:
    """What the first reading of the file keeps, in a temporary table of the import's
    transaction rather than in memory: the slug each row names (and those the import gives to
    new listings), and what each row gives its practice address (hours, accessibility and
    coordinates), so that two rows giving one address different values are an error whatever
    chunks they are in."""

    def __init__(self):
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.directory_import_rows")
            cursor.execute(
                "CREATE TEMPORARY TABLE directory_import_rows (row integer NOT NULL, slug text, "
                "place text, hours text, accessibility text, latitude text, longitude text) "
                "ON COMMIT DROP"
            )

    def load(self, rows: Iterator[dict]) -> int:
        """Read all the rows, keeping what each names; returns how many rows there are."""
        total = 0
        columns = "row, slug, place, hours, accessibility, latitude, longitude"
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY directory_import_rows ({columns}) FROM STDIN") as copy:
                for row in rows:
                    total += 1
                    slug = row.get("slug", "").lower() or None
                    if "__error__" in row:
                        copy.write_row((row[ROW_NUMBER], slug, None, None, None, None, None))
                    else:
                        place = (_place_key(row), *_place_values(row))
                        copy.write_row((row[ROW_NUMBER], slug, *place))
            cursor.execute("CREATE INDEX ON directory_import_rows (slug)")
            cursor.execute("CREATE INDEX ON directory_import_rows (place)")
        return total

    def place_conflicts(self, rows: list[dict]) -> dict[int, int]:
        """Row -> another row that gives the same practice address other hours, other
        accessibility or other coordinates (a column the file leaves out, or coordinates left
        empty, conflict with nothing)."""
        keys = {_place_key(row) for row in rows if "__error__" not in row}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT place, hours, accessibility, latitude, longitude, min(row) "
                "FROM directory_import_rows WHERE place = ANY(%s) "
                "GROUP BY place, hours, accessibility, latitude, longitude",
                [list(keys)],
            )
            given: dict[str, list] = defaultdict(list)
            for place, *values, first in cursor.fetchall():
                given[place].append((values, first))
        conflicts = {}
        for row in rows:
            if "__error__" in row:
                continue
            mine = _place_values(row)
            for values, first in given.get(_place_key(row), []):
                pairs = zip(mine, values, strict=True)
                if any(a is not None and b is not None and a != b for a, b in pairs):
                    conflicts[row[ROW_NUMBER]] = first
                    break
        return conflicts

    def first_rows(self, slugs: set[str]) -> dict[str, int]:
        """The row of the file that names each of these slugs first."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT slug, min(row) FROM directory_import_rows "
                "WHERE slug = ANY(%s) GROUP BY slug",
                [list(slugs)],
            )
            return dict(cursor.fetchall())

    def __contains__(self, slug: str) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT FROM directory_import_rows WHERE slug = %s)", [slug]
            )
            return cursor.fetchone()[0]

    def take(self, slug: str) -> None:
        """A slug the import gives a new listing: no later row may be given it too."""
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO directory_import_rows (slug, row) VALUES (%s, 0)", [slug])


def _place_key(row: dict) -> str:
    """A practice address as the rows give it (clinic and address, case and accents aside)."""
    parts = ("clinic", "street", "postcode", "city", "country")
    return "|".join(fold(row.get(part, "")) for part in parts)


def _place_values(row: dict) -> tuple:
    """What a row gives its practice address: the hours and the accessibility (each tidied)
    and the coordinates, each None when the row leaves it out."""
    hours = row.get("hours")
    if hours is not None:
        try:
            hours = format_hours(parse_hours(hours))
        except HoursError:
            hours = None  # the row's own error says what is wrong with them
    accessibility = row.get("accessibility")
    if accessibility is not None:
        errors: list[str] = []
        facts = parse_accessibility(accessibility, errors)
        # A malformed cell: the row's own error says what is wrong with it.
        accessibility = None if errors else format_accessibility(facts)
    latitude = row.get("latitude", "").replace(",", ".") or None
    longitude = row.get("longitude", "").replace(",", ".") or None
    return hours, accessibility, latitude, longitude


def _check_chunk(chunk, done, total, taxonomy, file_slugs: _Slugs, progress) -> list:
    """Check a chunk of rows, with its listings loaded at once: [(plan, result)] for the rows
    without errors (the errors go to the report)."""
    report = taxonomy.report
    slugs = {row.get("slug", "").lower() for row in chunk if row.get("slug")}
    first_rows = file_slugs.first_rows(slugs)
    conflicts = file_slugs.place_conflicts(chunk)
    existing = {
        specialist.slug: specialist
        for specialist in Specialist.objects.filter(slug__in=slugs).prefetch_related(
            "specialties",
            Prefetch(
                "specialistcondition_set",
                queryset=SpecialistCondition.objects.order_by("position", "id"),
            ),
            Prefetch(
                "affiliations",
                queryset=Affiliation.objects.select_related("location").prefetch_related(
                    "location__features"
                ),
            ),
        )
    }
    planned = []
    for number, row in enumerate(chunk, start=done):
        _tell(progress, "checked", number, total)
        plan, errors = _check_row(row, taxonomy, existing, first_rows)
        if row[ROW_NUMBER] in conflicts:
            errors.append(
                f"row {conflicts[row[ROW_NUMBER]]} gives the same practice address other hours, "
                "accessibility or coordinates"
            )
            plan = None
        report.errors.extend((row[ROW_NUMBER], error) for error in errors)
        if plan is None:
            continue
        plan.row = row[ROW_NUMBER]
        if plan.specialist is None:
            action, changes = "create", []
        else:
            changes = _describe_changes(plan)
            action = "update" if changes else "unchanged"
        slug = plan.values["slug"] or slugify_name(
            f"{plan.values['given_name']} {plan.values['family_name']}"
        )
        planned.append((plan, RowResult(plan.row, slug, action, changes)))
    return planned


def _tell(progress, step: str, done: int, total: int) -> None:
    if progress is not None and done and done % PROGRESS_EVERY == 0:
        progress(step, done, total)


def _materialise(obj_or_name, kind: str):
    """A planned new taxonomy entry (a plain name) becomes a row flagged for review."""
    if not isinstance(obj_or_name, str):
        return obj_or_name
    name = obj_or_name
    if kind == "clinics":
        # A draft until an editor has looked at it: the site shows neither it nor its address.
        return Clinic.objects.create(
            name=name,
            slug=_unique_slug(Clinic, name),
            kind=clinic_kind(name),
            status=Status.DRAFT,
            needs_review=True,
        )
    model = Specialty if kind == "specialties" else Condition
    return model.objects.create(
        name_en=name, name_de=name, slug=_unique_slug(model, name), needs_review=True
    )


# The kind of a clinic an import names, from words in its name (folded: case, accents and
# umlauts do not matter), the first that matches; else the model's default.
CLINIC_KIND_WORDS = [
    (Clinic.Kind.PRACTICE, ("praxis", "practice", "ordination", "cabinet", "studio medico")),
    (Clinic.Kind.HOSPITAL, ("klinik", "spital", "krankenhaus", "hospital", "hopital", "ospedale")),
    (Clinic.Kind.CENTRE, ("zentrum", "centre", "center", "centro", "mvz")),
]


def clinic_kind(name: str) -> str:
    """Praxis, practice: a practice; Klinik, Klinikum, Spital, hospital: a hospital; Zentrum,
    centre, MVZ: a centre."""
    folded = fold(name)
    for kind, words in CLINIC_KIND_WORDS:
        if any(word in folded for word in words):
            return kind
    return Clinic._meta.get_field("kind").default


class _Writer:
    """Writes checked rows a chunk at a time. A listing is written only where the file changes
    it: a changed value is written with the other listings' in a few bulk updates, and fields,
    conditions and the practice address only where they differ. After the bulk updates each
    listing's receivers run as after a save (search index, address for requests). The chunk's
    accessibility facts and services are written in bulk after its rows, only those that
    differ (those are then the import's, confirmed today)."""

    def __init__(self, taxonomy: _Taxonomy, user, *, slugs: _Slugs, progress=None):
        self.user = user
        self.slugs = slugs  # the slugs the file names or the import gave
        self.progress = progress
        self.created: dict[tuple[str, str], object] = {}  # new taxonomy and clinics, by name
        self.now = timezone.now()
        self.today = timezone.localdate()

    def resolve(self, value, kind):
        if isinstance(value, str):
            key = (kind, value.casefold())
            if key not in self.created:
                self.created[key] = _materialise(value, kind)
            return self.created[key]
        return value

    def write(self, planned: list[tuple[_PlannedRow, RowResult]], done: int, total: int) -> None:
        updated: list[tuple[Specialist, list[str]]] = []
        facts: dict[int, dict[str, bool]] = {}  # location -> its accessibility as the file says
        services: dict[int, tuple[Affiliation, tuple[str, ...]]] = {}  # by affiliation
        for number, (plan, result) in enumerate(planned, start=done):
            _tell(self.progress, "written", number, total)
            if result.action == "unchanged":
                continue
            changes = set(result.changes)
            specialist = plan.specialist
            values = dict(plan.values)
            if specialist is None:
                specialist = Specialist()
                if not values["slug"]:
                    values["slug"] = _unique_slug(
                        Specialist, f"{values['given_name']} {values['family_name']}", self.slugs
                    )
                    self.slugs.take(values["slug"])
                for name, value in values.items():
                    setattr(specialist, name, value)
                _confirm_imported(specialist, IMPORT_CONFIRMS, self.today)
                specialist.changed_by = self.user
                specialist.save()
            else:
                fields = [
                    name
                    for name, value in values.items()
                    if name != "slug" and _stored(specialist, name) != value
                ]
                for name in fields:
                    setattr(specialist, name, values[name])
                fields += _confirm_imported(specialist, fields, self.today)
                # Also a listing whose fields, conditions or address alone changed: its
                # `modified` moves on and the search sees it again.
                updated.append((specialist, fields))
            result.slug = specialist.slug
            if plan.specialist is None or "specialties" in changes:
                specialist.specialties.set(
                    [self.resolve(s, "specialties") for s in plan.specialties]
                )
            if plan.specialist is None or "conditions" in changes:
                conditions = [self.resolve(c, "conditions") for c in plan.conditions]
                SpecialistCondition.objects.filter(specialist=specialist).delete()
                SpecialistCondition.objects.bulk_create(
                    SpecialistCondition(
                        specialist=specialist, condition=condition, position=position
                    )
                    for position, condition in enumerate(dict.fromkeys(conditions))
                )
            placed = plan.specialist is None or changes & {"clinic", "address", "hours"}
            if placed:
                affiliation = _place(
                    specialist, self.resolve(plan.clinic, "clinics"), plan, self.today
                )
            else:  # the same place of work as before (what changed was checked against it)
                affiliation = _primary_affiliation(specialist)
            if plan.accessibility is not None and (placed or "accessibility" in changes):
                facts[affiliation.location_id] = plan.accessibility
            if plan.services is not None and (placed or "services" in changes):
                services[affiliation.pk] = (affiliation, plan.services)
        _write_facts(facts, self.today)
        _write_services(services.values(), self.today, self.now)
        _update(updated, self.user, self.now)


# The field of Affiliation that says whether it offers each Service.
SERVICE_FIELDS = {Service.VIDEO: "video_consultation", Service.HOME_VISITS: "home_visits"}


def _write_facts(planned: dict[int, dict[str, bool]], today) -> None:
    """Give these locations the accessibility facts the file gives them, in a few bulk queries:
    a fact the import creates or changes is the import's, confirmed today; one it states as it
    is stays untouched; one it does not state goes. The search rows of everyone who works
    there are rewritten when anything changed (bulk queries run no receivers)."""
    if not planned:
        return
    stored: dict[int, dict[str, LocationFeature]] = defaultdict(dict)
    for fact in LocationFeature.objects.filter(location_id__in=planned):
        stored[fact.location_id][fact.feature] = fact
    created, updated, deleted, changed = [], [], [], set()
    for location_id, facts in planned.items():
        have = stored[location_id]
        for feature, present in facts.items():
            fact = have.get(feature)
            if fact is None:
                created.append(
                    LocationFeature(
                        location_id=location_id,
                        feature=feature,
                        present=present,
                        source=FactSource.IMPORT,
                        confirmed_on=today,
                    )
                )
            elif fact.present != present:
                fact.present, fact.source, fact.confirmed_on = present, FactSource.IMPORT, today
                updated.append(fact)
            else:
                continue
            changed.add(location_id)
        gone = [fact.pk for feature, fact in have.items() if feature not in facts]
        if gone:
            deleted.extend(gone)
            changed.add(location_id)
    if not changed:
        return
    if deleted:
        # Not QuerySet.delete(): that would run the receivers for each fact, a query apiece.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM directory_locationfeature WHERE id = ANY(%s)", [deleted])
    LocationFeature.objects.bulk_create(created, batch_size=UPDATE_BATCH * 10)
    LocationFeature.objects.bulk_update(
        updated, ["present", "source", "confirmed_on"], batch_size=UPDATE_BATCH
    )
    working_there = Affiliation.objects.filter(location_id__in=changed)
    index.rebuild(working_there.values_list("specialist_id", flat=True))


def _write_services(planned, today, now) -> None:
    """Give these places of work the services the file gives them, in bulk: those that differ
    become the import's, confirmed today; the others stay untouched."""
    changed = []
    for affiliation, services in planned:
        if tuple(affiliation.services) == services:
            continue
        for code, name in SERVICE_FIELDS.items():
            setattr(affiliation, name, code in services)
        affiliation.services_source = FactSource.IMPORT
        affiliation.services_confirmed_on = today
        affiliation.modified = now
        changed.append(affiliation)
    if not changed:
        return
    fields = [*SERVICE_FIELDS.values(), "services_source", "services_confirmed_on", "modified"]
    Affiliation.objects.bulk_update(changed, fields, batch_size=UPDATE_BATCH)
    index.rebuild(affiliation.specialist_id for affiliation in changed)


def _place(specialist: Specialist, clinic: Clinic, plan: _PlannedRow, today) -> Affiliation:
    """Make the row's clinic and address the specialist's primary place of work (returned). A
    place of work the import creates has the row's services, if the file gives them."""
    location = Location.objects.filter(clinic=clinic, **plan.address).first()
    coordinates = _coordinates_for(location, plan)
    if location is None:
        location = Location(clinic=clinic, **plan.address)
    hours_changed = plan.hours is not None and location.hours != plan.hours
    if (
        location.pk is None
        or (location.latitude, location.longitude) != coordinates
        or hours_changed
    ):
        location.latitude, location.longitude = coordinates
        if plan.hours is not None:
            location.hours = plan.hours
        if hours_changed or (location.pk is None and plan.hours is not None):
            location.hours_source, location.hours_confirmed_on = FactSource.IMPORT, today
        location.save()
    specialist.affiliations.filter(is_primary=True).exclude(location=location).update(
        is_primary=False
    )
    created_with = {"is_primary": True}
    if plan.services is not None:
        created_with |= {
            **{field: code in plan.services for code, field in SERVICE_FIELDS.items()},
            "services_source": FactSource.IMPORT,
            "services_confirmed_on": today,
        }
    affiliation, _created = Affiliation.objects.update_or_create(
        specialist=specialist,
        clinic=clinic,
        location=location,
        defaults={"is_primary": True},
        create_defaults=created_with,
    )
    return affiliation


UPDATE_BATCH = 100


# The facts the filters use that a row gives, and where their source and date are kept: the
# import confirms those it creates or changes (source "import", today).
IMPORT_CONFIRMS = {
    "languages": ("languages_source", "languages_confirmed_on"),
    "insurance": ("insurance_source", "insurance_confirmed_on"),
    "accepts_new_patients": ("new_patients_source", "new_patients_confirmed_on"),
}


def _confirm_imported(specialist: Specialist, changed, today) -> list[str]:
    """Mark the facts among `changed` as confirmed by the import today; the fields it set."""
    fields = []
    for name in changed:
        if name in IMPORT_CONFIRMS:
            source, day = IMPORT_CONFIRMS[name]
            setattr(specialist, source, FactSource.IMPORT)
            setattr(specialist, day, today)
            fields += [source, day]
    return fields


def _update(updated: list[tuple[Specialist, list[str]]], user, now) -> None:
    """Write the changed values of existing listings in bulk, then tell each listing's receivers,
    as save(update_fields=...) would: only the fields that changed are named, so a receiver that
    cares about one field (the address for requests) runs only for the listings that changed it.

    Listings given the same new value in a field (the common case: a column changed across the
    file) are written by one UPDATE per value; the others in small bulk updates."""
    by_value: dict[tuple[str, object], list[Specialist]] = defaultdict(list)
    for specialist, fields in updated:
        specialist.modified = now
        for name in fields:
            value = getattr(specialist, name)
            by_value[(name, tuple(value) if isinstance(value, list) else value)].append(specialist)
    ids = [specialist.pk for specialist, _fields in updated]
    for start in range(0, len(ids), UPDATE_BATCH * 10):
        Specialist.objects.filter(pk__in=ids[start : start + UPDATE_BATCH * 10]).update(
            modified=now
        )
    scattered: dict[str, list[Specialist]] = defaultdict(list)
    for (name, _value), specialists in by_value.items():
        if len(specialists) >= UPDATE_BATCH // 10:
            ids = [s.pk for s in specialists]
            value = getattr(specialists[0], name)
            for start in range(0, len(ids), UPDATE_BATCH * 10):
                Specialist.objects.filter(pk__in=ids[start : start + UPDATE_BATCH * 10]).update(
                    **{name: value}
                )
        else:
            scattered[name].extend(specialists)
    for name, specialists in scattered.items():
        Specialist.objects.bulk_update(specialists, [name], batch_size=UPDATE_BATCH)
    for specialist, fields in updated:
        specialist.changed_by = user
        signals.post_save.send(
            sender=Specialist,
            instance=specialist,
            created=False,
            update_fields=frozenset([*fields, "modified"]),
            raw=False,
            using=specialist._state.db,
        )


def export_specialists(output, queryset=None, *, xlsx: bool = False) -> int:
    """Write the specialists (all, or `queryset`) in the import format, as UTF-8 CSV to a text
    stream or (`xlsx`) as an XLSX workbook to a binary one; returns the row count. Runs a fixed
    number of queries, however many rows, and streams."""
    rows = export_rows(queryset)
    return write_xlsx(output, rows) if xlsx else write_csv(output, rows)


def export_rows(queryset=None):
    """The header, then one row per specialist, each cell guarded against formulas."""
    if queryset is None:
        # Archived listings have no place in the format (status is draft or published).
        queryset = Specialist.objects.exclude(status=Status.ARCHIVED)
    queryset = queryset.order_by("slug").prefetch_related(
        "specialties",
        Prefetch(
            "specialistcondition_set",
            queryset=SpecialistCondition.objects.select_related("condition").order_by(
                "position", "id"
            ),
        ),
        Prefetch(
            "affiliations",
            queryset=Affiliation.objects.filter(is_primary=True)
            .select_related("clinic", "location")
            .prefetch_related("location__features"),
            to_attr="primary_affiliations",
        ),
    )
    yield list(COLUMNS)
    for specialist in queryset.iterator(chunk_size=2000):
        primary = specialist.primary_affiliations[0] if specialist.primary_affiliations else None
        location = primary.location if primary else None
        cells = (
            specialist.slug,
            specialist.honorific_prefix,
            specialist.given_name,
            specialist.family_name,
            specialist.headline_en or "",
            specialist.headline_de or "",
            _join(s.slug for s in sorted(specialist.specialties.all(), key=lambda s: s.slug)),
            _join(link.condition.slug for link in specialist.specialistcondition_set.all()),
            _join(specialist.languages),
            _join(specialist.insurance),
            "yes" if specialist.accepts_new_patients else "no",
            primary.clinic.slug if primary else "",
            location.street if location else "",
            location.postcode if location else "",
            location.city if location else "",
            location.country if location else "",
            specialist.phone,
            specialist.email,
            specialist.website,
            "" if location is None or location.latitude is None else repr(location.latitude),
            "" if location is None or location.longitude is None else repr(location.longitude),
            specialist.biography_en or "",
            specialist.biography_de or "",
            specialist.status if specialist.status in IMPORTABLE_STATUSES else Status.DRAFT,
            location.hours if location else "",
            format_accessibility(_stored_facts(location)) if location else "",
            _join(primary.services) if primary else "",
            specialist.headline_fr or "",
            specialist.headline_it or "",
            specialist.biography_fr or "",
            specialist.biography_it or "",
        )
        yield [guard_formula(cell) for cell in cells]
