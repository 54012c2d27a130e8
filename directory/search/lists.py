# The facet SQL wraps querysets compiled by Django; values go in as parameters.
# ruff: noqa: S608
"""A list of specialists as the search page, condition pages and medical field pages show it:
the filtered rows of one page, the result count and the facet counts beside every option.

Counts are computed disjunctively (a facet's own selection does not shrink its own counts) in a
single query and cached, so the broad lists patients open most (a condition, a country) stay
fast at full scale. After a change to any listing the last counts serve while they are counted
again outside the request (keys.fresh_or_stale). Meanwhile the total is still exact up to
EXACT_UP_TO (a count that stops there); above it, the page says "about" and rounds it, and the
filters say that their numbers may be a few minutes old.
"""

import math
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import quote

from django.core.cache import cache
from django.db import connections
from django.db.models import Case, F, FloatField, Func, Prefetch, Q, Value, When
from django.db.models.functions import Lower
from django.http import QueryDict
from django.template.loader import get_template
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core import languages
from core.pagination import paginate
from core.routers import read_alias
from directory.models import (
    LANGUAGE_CODES,
    Affiliation,
    Country,
    Insurance,
    Service,
    Specialist,
    SpecialistSearch,
    Status,
    closure_spans,
)
from directory.models import language_name as _language_name
from directory.search import keys, text
from directory.search import plan as plans
from directory.search.filters import SpecialistFilterSet
from directory.search.geo import DEFAULT_RADIUS, RADIUS_CHOICES
from directory.search.plan import FACETS, Plan, Sort
from directory.search.text import NEVER

PAGE_SIZE = 20
# Up to this many results the total is always exact, even while the counts are stale.
EXACT_UP_TO = 10_000
# Lists up to this size (by their counts, fresh or stale) are read by sorting their matches; longer
# ones by walking the name index until a page is full. Walking a long list is fast, as matches
# are everywhere; walking a short one may read the whole table for a group with few or no rows
# (a condition whose specialists all list it among their first three has no "others").
SORT_UP_TO = 20_000
# What a card shows (directory/includes/specialist_card.html): nothing else is loaded.
CARD_FIELDS = (
    "honorific_prefix",
    "given_name",
    "family_name",
    "slug",
    *languages.columns("headline"),
    "languages",
    "insurance",
    "accepts_new_patients",
    "photo",
    # A fact too old to count says so on the card ("not confirmed since").
    "languages_confirmed_on",
    "insurance_confirmed_on",
    "new_patients_confirmed_on",
)
CARD_AFFILIATION_FIELDS = (
    "specialist_id",
    "is_primary",
    "clinic__name",
    "location__postcode",
    "location__city",
    "location__country",
    "video_consultation",
    "home_visits",
    "services_confirmed_on",
    # The status "open now" (directory.hours): a marker the served page fills in.
    "location__hours",
    "location__holiday_region",
    "location__hours_confirmed_on",
    # The map of the page's results (directory.maps.result_markers) reads them with no query.
    "location__latitude",
    "location__longitude",
)
# The parameters of the canonical URL, in this order; `sort` and `page` only when not default.
CANONICAL_ORDER = (
    "q",
    "condition",
    "specialty",
    "country",
    "city",
    "radius",
    "language",
    "insurance",
    "service",
    "new_patients",
    "open_now",
    "saturday",
    "step_free",
    "certified",
    "free_soon",
    "sort",
    "page",
)


def canonical_query_string(data: dict, order: tuple[str, ...] = CANONICAL_ORDER) -> str:
    """The query string of a list's cleaned parameters in a fixed order, without defaults (page
    1, sort by relevance, a radius without a city): one URL per list."""
    query = QueryDict(mutable=True)
    for name in order:
        value = data.get(name)
        if value in (None, "", []) or (name == "page" and value == 1):
            continue
        if name == "sort" and value == Sort.RELEVANCE:
            continue
        if name == "radius" and not data.get("city"):
            continue
        if isinstance(value, list):
            query.setlist(name, sorted(value))
        else:
            query[name] = str(value)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else ""


@dataclass
class Option:
    value: str
    label: str
    count: int | None  # None when the form has errors and nothing was counted
    selected: bool


@dataclass
class Facet:
    name: str
    legend: str
    options: list[Option] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# Cards are cached without the list they stand in; their link to the profile carries this
# marker, which each list replaces with the way back to itself (the profile's breadcrumbs).
BACK_MARKER = "__back__"


@dataclass
class Card:
    """One specialist in a list: its rendered HTML, and while rendering, what it shows."""

    pk: int
    distance: float | None
    place_name: str = ""
    cache_key: str = ""
    html: str = ""
    specialist: Specialist | None = None
    fields: list = field(default_factory=list)
    affiliation: Affiliation | None = None


class FilteredList:
    """What the specialist and the clinic lists share: the parameters (a FilterSet's form, which
    validates them), the plan they resolve to, and what the form shows of it."""

    def __init__(self, request, filterset, **plan_options):
        self.request = request
        self.filterset = filterset
        self.valid = filterset.is_valid()
        self.data = filterset.form.cleaned_data if self.valid else {}
        self.plan = plans.make_plan(self.data, **plan_options) if self.valid else Plan(valid=False)

    @property
    def status(self) -> int:
        return 200 if self.valid else 400

    @property
    def form(self):
        return self.filterset.form

    @property
    def unknown(self) -> dict:
        return self.plan.unknown

    @property
    def place(self):
        """The place the list is around (a directory.search.geo.Origin), or None."""
        return self.plan.origin

    @property
    def place_label(self) -> str:
        return self.place.label if self.place else ""

    @property
    def place_alternatives(self) -> list:
        """Other places the name could mean, with the URL of this list around each."""
        if self.plan.place is None:
            return []
        return [
            (origin, self.query_string(**self._place_as_city(origin.value)))
            for origin in self.plan.place.alternatives
        ]

    def _place_as_city(self, value: str | None = None) -> dict:
        """Changes that search around a place given as `city` (the list's own, or `value`), with
        the words that named it taken out of `q`."""
        changes = {"city": value or self.place.value, "page": 1}
        if self.plan.place_from_text:
            changes["q"] = self.plan.understanding.text_without_place
        return changes

    @property
    def without_place_url(self) -> str:
        """This list without the place named in `q`."""
        words = self.plan.understanding.text_without_place
        return self.query_string(q=words, page=1)

    @property
    def radius(self) -> int:
        return self.plan.radius if self.valid else DEFAULT_RADIUS

    @property
    def radius_options(self) -> list[tuple[str, int, bool]]:
        """(value, km, selected) for the distance menu. The first, empty value means the default
        radius, so the form can be sent without a city and without an error."""
        given = self.radius
        return [
            ("" if km == DEFAULT_RADIUS else str(km), km, km == given)
            for km in sorted({*RADIUS_CHOICES, given})
        ]

    @property
    def selected_count(self) -> int:
        """How many filter values are chosen (for "Filters · 3 selected")."""
        names = ("country", "language", "insurance", "service", "kind")
        count = sum(len(self.selected(name)) for name in names)
        flags = (
            "specialty",
            "new_patients",
            "open_now",
            "saturday",
            "step_free",
            "certified",
            "free_soon",
        )
        return count + sum(bool(self.data.get(name)) for name in flags)

    def selected(self, name: str) -> set[str]:
        """The values chosen for a multiple-choice filter; from the raw query when the form has
        errors."""
        if self.valid:
            return set(self.data.get(name) or [])
        return set(self.filterset.form.data.getlist(name))


class SpecialistList(FilteredList):
    """Runs the FilterSet over the published specialists (optionally narrowed by `queryset`,
    e.g. to one condition) and gathers what the templates show. A fixed number of queries."""

    def __init__(self, request, queryset=None, *, scope: str = "", scope_conditions=()):
        super().__init__(
            request,
            SpecialistFilterSet(request.GET, request=request),
            scope_conditions=scope_conditions,
        )
        self.base = queryset if queryset is not None else SpecialistSearch.objects.all()
        self.scope = scope
        self.total = 0
        # While the counts are being counted again: the total above EXACT_UP_TO is the last
        # one counted (shown rounded, "about"), and the facets' numbers are as old.
        self.counts_fresh = True
        self.total_is_estimate = False
        self._counts_version = ""
        self.cards: list[Card] = []
        self._counted: dict | None = None  # the counts the facets show (None: not counted)
        self.page_number = self.data.get("page") or 1
        self.num_pages = 1
        if self.valid:
            self._run()

    @property
    def out_of_range(self) -> bool:
        return self.total > 0 and self.page_number > self.num_pages

    @property
    def sort(self) -> str:
        """The order the list is in (relevance when distance was asked for without a place)."""
        return self.plan.sort if self.valid else Sort.RELEVANCE

    @property
    def cache_seconds(self) -> int:
        """How long the page may be cached: an "open now" list until its minute is over (it is
        that minute's list; the statuses on it are filled in per response, as on every page)."""
        if self.valid and self.plan.open_now is not None:
            return min(self.plan.open_now.seconds_left(timezone.now()), keys.cache_seconds())
        return keys.cache_seconds()

    @property
    def form_cache_key(self) -> str:
        """What the filter form shows depends on: the counts (their key names the filters, the
        version the time they were counted), the sort, the taxonomy (the fields' names), the
        language and the list's own page."""
        return (
            f"{self._counts_key}:{self._counts_version}:{self.counts_fresh}:{self.sort}:"
            f"{keys.generation(keys.TAXONOMY_GENERATION_KEY)}:{get_language()}:"
            f"{self.request.path}"
        )

    @property
    def total_shown(self) -> int:
        """The total as the page states it: exact, or rounded to three digits when it is the
        estimate of stale counts ("about 312,000")."""
        if not self.total_is_estimate:
            return self.total
        digits = max(0, len(str(self.total)) - 3)
        return max(EXACT_UP_TO, round(self.total, -digits))

    @property
    def place_name(self) -> str:
        return self.place.name() if self.place else ""

    @property
    def carried_condition(self) -> str:
        """A `condition` given to the search page, kept when the form is sent again."""
        return self.filterset.form.data.get("condition", "") if not self.scope else ""

    @property
    def first_index(self) -> int:
        return (self.page_number - 1) * PAGE_SIZE + 1

    @property
    def first_page_url(self) -> str:
        return self.page_url(1)

    # --- Running -----------------------------------------------------------------------------

    @property
    def help(self) -> dict:
        """What might help when nothing was found: the nearest spellings of the words, the
        medical fields of the conditions they name, a wider radius."""
        understanding = self.plan.understanding
        spellings = []
        for word in understanding.words:
            for alternative in word.alternatives[:2]:
                query = " ".join(alternative if w is word else w.text for w in understanding.words)
                spellings.append((alternative, self.query_string(q=query, page=1)))
        fields = plans.specialties()
        related = {
            pk
            for word in understanding.words
            for pk in [*word.fields, *word.similar_fields]
            if pk in fields
        }
        if understanding.condition_ids:
            from directory.models import Condition

            related |= set(
                Condition.specialties.through.objects.filter(
                    condition_id__in=understanding.condition_ids
                ).values_list("specialty_id", flat=True)[:10]
            ) & set(fields)
        field_links = [
            (fields[pk].name, self.query_string(specialty=fields[pk].slug, q="", page=1))
            for pk in sorted(related, key=lambda pk: fields[pk].name)[:5]
        ]
        wider = None
        if self.place is not None:
            larger = [km for km in RADIUS_CHOICES if km > self.radius]
            if larger:
                wider = (larger[0], self.query_string(**self._place_as_city(), radius=larger[0]))
        return {"spellings": spellings[:4], "fields": field_links, "wider": wider}

    @property
    def focus_ranked(self) -> bool:
        """The order puts those who list the condition first in their treatment focus first."""
        return self.sort == Sort.RELEVANCE and bool(self.plan.focus_condition_ids)

    def _run(self) -> None:
        queryset = plans.rows(self.plan, self.base)
        counts = self._counts()
        self.total = counts["total"]
        if not self.counts_fresh:
            # Exact while there are few: a count that stops after EXACT_UP_TO + 1 rows, once per
            # generation of the index.
            few = cache.get_or_set(
                keys.bounded_total(self._counts_key),
                lambda: queryset.order_by().values("specialist_id")[: EXACT_UP_TO + 1].count(),
                keys.cache_seconds(),
            )
            if few <= EXACT_UP_TO:
                self.total = few
            else:
                self.total = max(self.total, few)
                self.total_is_estimate = True
        self.num_pages = max(1, math.ceil(self.total / PAGE_SIZE))
        self._counted = counts
        if self.total and not self.out_of_range:
            self.cards = self._cards(queryset)

    def _ordering(self) -> list:
        if self.sort == Sort.DISTANCE:
            return ["distance", "sort_name", "specialist_id"]
        if self.sort == Sort.EARLIEST:
            # Those without a free time (NULL) come last, by name: the order of the index.
            return ["next_free", "sort_name", "specialist_id"]
        if self.total <= SORT_UP_TO:
            return [Lower("sort_name"), "specialist_id"]  # the same order, sorted (SORT_UP_TO)
        return ["sort_name", "specialist_id"]

    def _page_rows(self, queryset) -> list[tuple[int, list[int], float | None, object]]:
        """(specialist ID, field IDs, distance in km, when the row was written) of the page's
        rows, in order. Reads only the narrow search rows. Ranked by relevance, each tier is a
        query of its own ordered by name, so PostgreSQL can walk the name index of a long list
        instead of ranking every match (SORT_UP_TO)."""
        start = (self.page_number - 1) * PAGE_SIZE
        stop = start + PAGE_SIZE
        columns = ["specialist_id", "sort_name", "specialty_ids", "written"]
        if self.place is not None:
            # The chord back to the great-circle distance, for the page's rows only.
            queryset = queryset.annotate(
                distance_km=Func(F("distance"), function="sec_to_gc", output_field=FloatField())
                / 1000
            )
            columns.append("distance_km")
        understanding = self.plan.understanding
        focus = plans.focus(self.plan)
        if self.sort != Sort.RELEVANCE or (not understanding.words and focus is None):
            rows = queryset.order_by(*self._ordering()).values_list(*columns)[start:stop]
            return [(row[0], row[2], row[4] if len(row) > 4 else None, row[3]) for row in rows]
        # Name matches are few and bunched in name order (every Müller sorts together), so
        # walking the name index to find them would read most of the table: those tiers sort
        # their matches instead (lower() of the folded name is the same order, unindexed).
        # Condition and field matches are spread out: in a long list the planner may walk it
        # (SORT_UP_TO).
        unindexed = (Lower("sort_name"), "specialist_id")
        indexed = ("sort_name", "specialist_id") if self.total > SORT_UP_TO else unindexed
        tiers = []
        if understanding.words:
            _match, exact, by_name = text.text_filters(understanding)
        else:
            exact, by_name = Q(), NEVER
        if understanding.words and understanding.names_only:
            # One sorted pass over the name and city matches, names first.
            ranked = Case(When(by_name, then=Value(0)), default=Value(3))
            tiers.append((queryset.filter(exact).annotate(tier=ranked), ("tier", *unindexed)))
        else:
            matching = queryset.filter(exact)
            if understanding.words:
                tiers.append((queryset.filter(by_name).annotate(tier=Value(0)), unindexed))
                matching = matching.exclude(by_name)
            if focus is not None:
                first, top = focus
                tiers += [
                    (matching.filter(first).annotate(tier=Value(1)), indexed),
                    (matching.filter(top).exclude(first).annotate(tier=Value(2)), indexed),
                    (matching.exclude(top).annotate(tier=Value(3)), indexed),
                ]
            else:
                tiers.append((matching.annotate(tier=Value(3)), indexed))
        if understanding.words and understanding.has_alternatives:
            ordering = unindexed if understanding.similar_names_only else indexed
            tiers.append((queryset.exclude(exact).annotate(tier=Value(4)), ordering))
        parts, params = [], []
        names = ", ".join(columns)
        for rows, ordering in tiers:
            if rows.query.is_empty():
                continue
            sql, sql_params = (
                rows.order_by(*ordering)
                .values_list("tier", *columns)[:stop]
                .query.sql_with_params()
            )
            parts.append(f"SELECT tier, {names} FROM ({sql}) AS ranked")
            params.extend(sql_params)
        if not parts:
            return []
        query = (
            " UNION ALL ".join(f"({part})" for part in parts)
            + " ORDER BY 1, 3, 2 LIMIT %s OFFSET %s"
        )
        with connections[read_alias()].cursor() as cursor:
            cursor.execute(query, [*params, PAGE_SIZE, start])
            return [(row[1], row[3], row[5] if len(row) > 5 else None, row[4]) for row in cursor]

    def _cached_page_rows(self, queryset) -> list:
        """The page's rows, cached in the index's generation: exact, since any change to what
        the search sees starts a new one."""
        key = keys.page_rows(self.scope, self._parameters())
        rows = cache.get(key)
        if rows is None:
            rows = self._page_rows(queryset)
            cache.set(key, rows, keys.cache_seconds())
        return rows

    def _cards(self, queryset) -> list[Card]:
        """The page's cards, rendered; only those not in the cache are loaded and rendered."""
        rows = self._cached_page_rows(queryset)
        # Cached per version of the search row (a card changes only with its listing, which
        # rewrites the row), language and the distance shown.
        language = get_language()
        place = self.place_name
        taxonomy = keys.generation(keys.TAXONOMY_GENERATION_KEY)  # once, not per card
        cards = [
            Card(
                pk,
                distance,
                place,
                keys.card(
                    language,
                    taxonomy,
                    pk,
                    written,
                    "" if distance is None else f"{distance:.1f} {place}",
                ),
            )
            for pk, _fields, distance, written in rows
        ]
        cached = cache.get_many([card.cache_key for card in cards])
        missing = [card for card in cards if card.cache_key not in cached]
        for card in cards:
            card.html = cached.get(card.cache_key, "")
        if missing:
            field_ids = {pk: ids for pk, ids, _distance, _written in rows}
            self._render(missing, field_ids)
            cache.set_many({card.cache_key: card.html for card in missing}, keys.cache_seconds())
        # Slashes need no escaping in a query string; the rest of the way back does.
        back = "?back=" + quote(self.request.path + self.canonical_query, safe="/")
        for card in cards:
            card.html = mark_safe(card.html.replace(BACK_MARKER, back))  # noqa: S308 - our HTML
        return cards

    def _render(self, cards: list[Card], field_ids: dict[int, list[int]]) -> None:
        specialists = (
            Specialist.objects.only(*CARD_FIELDS)
            # The row's next free time: a change to it rewrites the row, hence the card's key.
            .annotate(next_free=F("search_row__next_free"))
            .prefetch_related(
                Prefetch(
                    "affiliations",
                    queryset=Affiliation.objects.filter(clinic__status=Status.PUBLISHED)
                    .select_related("clinic", "location")
                    .only(*CARD_AFFILIATION_FIELDS)
                    .annotate(closure_spans=closure_spans("location_id"))
                    .order_by("-is_primary", "id"),
                    to_attr="public_affiliations",
                )
            )
            .in_bulk([card.pk for card in cards])
        )
        fields = plans.specialties()
        template = get_template("directory/includes/specialist_card.html")
        for card in cards:
            card.specialist = specialists.get(card.pk)
            if card.specialist is None:  # deleted since the page's rows were read
                continue
            own = [fields[pk] for pk in field_ids[card.pk] if pk in fields]
            broader = {f.parent_id for f in own}
            card.fields = sorted((f for f in own if f.pk not in broader), key=lambda f: f.name)
            card.affiliation = next(iter(card.specialist.public_affiliations), None)
            offered = {
                service
                for affiliation in card.specialist.public_affiliations
                if affiliation.services_current
                for service in affiliation.services
            }
            card.services = [service.label for service in Service if service in offered]
            # Services stated but too old to count: the card says since when.
            unconfirmed = [
                affiliation.services_confirmed_on
                for affiliation in card.specialist.public_affiliations
                if affiliation.services and not affiliation.services_current
            ]
            card.services_unconfirmed = None if offered else max(unconfirmed, default=None)
            card.html = template.render({"card": card})

    # --- Counts ------------------------------------------------------------------------------

    @cached_property
    def _counts_key(self) -> str:
        return keys.counts(self.scope, self._parameters(leave_out={"page", "sort"}))

    def _parameters(self, leave_out=frozenset()) -> dict:
        """The list's given parameters for a cache key: lists sorted, the radius only around
        a place (where it applies), the sort as the list resolved it."""
        data = {
            name: sorted(value) if isinstance(value, list) else value
            for name, value in self.data.items()
            if name not in leave_out and value not in (None, "", [])
        }
        if self.data.get("city"):
            data["radius"] = self.radius
        if self.valid and self.plan.open_now is not None:
            data["open_now"] = self.plan.open_now.key  # the counts of this minute
        if "sort" not in leave_out:
            data["sort"] = self.sort
        return data

    def _counts(self) -> dict:
        result = keys.fresh_or_stale(self._counts_key, self._count)
        self.counts_fresh = result.fresh
        self._counts_version = result.version
        return result.value

    def _count(self) -> dict:
        """The total and, for each facet, the count of every value, in one query."""
        counts = {"total": 0, **{name: {} for name in FACETS}}
        parts, params = [], []
        queryset = plans.rows(self.plan, self.base)
        if not queryset.query.is_empty():
            sql, sql_params = queryset.order_by().values("specialist_id").query.sql_with_params()
            parts.append(f"SELECT 'total', '', count(*) FROM ({sql}) AS r")
            params.extend(sql_params)
        for name, column in FACETS.items():
            rows = plans.rows(self.plan, self.base, skip=name) if self.data.get(name) else queryset
            if rows.query.is_empty():
                continue
            sql, sql_params = rows.order_by().values(column).query.sql_with_params()
            parts.append(
                f"SELECT %s, value::text, count(*) FROM ({sql}) AS r, unnest(r.{column}) AS value"
                " GROUP BY value"
            )
            params.extend([name, *sql_params])
        if not parts:
            return counts
        with connections[read_alias()].cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for facet, value, count in cursor.fetchall():
                if facet == "total":
                    counts["total"] = count
                else:
                    counts[facet][value] = count
        return counts

    @cached_property
    def facets(self) -> list[Facet]:
        """The filters' options with their counts; made only when the form is rendered (it is
        cached: form_cache_key)."""
        return self._facets(self._counted)

    def _facets(self, counts: dict | None) -> list[Facet]:
        """The options of each facet with their counts (None: not counted, the form has
        errors). Fields and languages nobody in the list has are left out."""
        selected = {name: self.selected(name) for name in FACETS}
        chosen_field = self.plan.specialty
        errors = self.filterset.form.errors

        def count(name, value):
            return None if counts is None else counts[name].get(value, 0)

        def options(name, choices):
            return [
                Option(value, str(label), count(name, value), value in selected[name])
                for value, label in choices
            ]

        fields = plans.specialties().values()
        field_options = [
            Option(
                f.slug,
                f.name,
                count("specialty", str(f.pk)),
                f.slug in selected["specialty"]
                if chosen_field is None
                else f.pk == chosen_field.pk,
            )
            for f in sorted(fields, key=lambda f: f.name)
        ]
        languages = sorted(
            (
                (code, _language_name(code))
                for code in {*(counts or {}).get("language", {}), *selected["language"]}
                if code in LANGUAGE_CODES
            ),
            key=lambda choice: choice[1],
        )
        facets = [
            Facet("country", _("Country"), options("country", Country.choices)),
            Facet("specialty", _("Medical field"), [o for o in field_options if o.count != 0]),
            Facet(
                "language",
                _("Language spoken"),
                [o for o in options("language", languages) if o.count != 0 or o.selected],
            ),
            Facet("insurance", _("Insurance"), options("insurance", Insurance.choices)),
            Facet("service", _("Consultations"), options("service", Service.choices)),
        ]
        for facet in facets:
            facet.errors = list(errors.get(facet.name, []))
        return facets

    # --- URLs --------------------------------------------------------------------------------

    def query_string(self, **changes) -> str:
        """The canonical query string of this list, with `changes` applied."""
        data = dict(self.data) if self.valid else {}
        data.update(changes)
        return canonical_query_string(data)

    @property
    def canonical_query(self) -> str:
        return self.query_string()

    def page_url(self, number: int) -> str:
        return self.query_string(page=number)

    @property
    def pagination(self):
        return paginate(self.page_number, self.num_pages, self.page_url)
