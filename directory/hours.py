"""Opening hours: the weekly hours of a location, its closures and public holidays, and what
they mean at a given moment ("Open now · closes 18:00", "Opens Monday 08:00").

The hours are wall-clock times of the location's country (all three countries keep Central
European time), so a practice that opens at 08:00 opens at 08:00 in summer and in winter; the
night a clock changes, a range is as long as the wall clock says.

One compact text form is used by editors, in the spreadsheets and in the page's status marker
(README, "Opening hours"):

    Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-12:00; Mo,Th 07:30-08:00 phone

Rules are separated by ";". A rule is days (Mo Tu We Th Fr Sa Su, or the German Mo Di Mi Do Fr
Sa So; ranges "Mo-Fr" and lists "Mo,We"), then time ranges ("08:00-12:00", several with ","; a
range that closes before it opens runs past midnight; "24:00" closes at midnight), then
optionally the kind: "appointment" (by appointment only) or "phone" (phone hours). Without a
kind, the hours are consultation hours.

When it counts as open: consultation hours and hours by appointment (not phone hours), on a day
that is not closed. A closed day (a closure, or a public holiday where the location closes on
them) is closed from 00:00 to 24:00; hours that run past midnight into it end at midnight.
The same rule decides the "open now" filter (directory.search) and what the page says.
"""

import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from django.utils.text import capfirst
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

DAY_MINUTES = 24 * 60
WEEK_MINUTES = 7 * DAY_MINUTES
DAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
_DAY_CODES = {code.casefold(): n for n, code in enumerate(DAYS)} | {
    code.casefold(): n for n, code in enumerate(["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"])
}
CONSULTATION, APPOINTMENT, PHONE = "consultation", "appointment", "phone"
KINDS = [CONSULTATION, APPOINTMENT, PHONE]
OPEN_KINDS = {CONSULTATION, APPOINTMENT}  # what "open" means: the door, not the phone
_KIND_WORDS = {
    "appointment": APPOINTMENT,
    "termin": APPOINTMENT,
    "phone": PHONE,
    "telefon": PHONE,
}
TIME_ZONES = {"DE": "Europe/Berlin", "AT": "Europe/Vienna", "CH": "Europe/Zurich"}
LOOK_AHEAD_DAYS = 62  # how far ahead the next opening is looked for (a long closure, say)


class HoursError(ValueError):
    """Opening hours that cannot be read; `position` is the character (from 1) where."""

    def __init__(self, message: str, position: int):
        super().__init__(
            _("at character %(position)d: %(message)s") % {"position": position, "message": message}
        )
        self.position = position


@dataclass(frozen=True, order=True)
class Hours:
    """One range on one weekday (0 = Monday). `closes` at or before `opens` runs past
    midnight; time(0) as `closes` is midnight."""

    weekday: int
    opens: time
    closes: time
    kind: str = CONSULTATION

    @property
    def closing(self) -> str:
        """The closing time as written: "18:00", "24:00" for midnight."""
        return _clock(self.closes, closing=True)

    @property
    def start(self) -> int:
        """Minutes into the week where it opens."""
        return self.weekday * DAY_MINUTES + _minutes(self.opens)

    @property
    def end(self) -> int:
        """Minutes into the week where it closes (beyond the week's end when it runs from
        Sunday into Monday)."""
        closes = _minutes(self.closes)
        return self.start + ((closes - _minutes(self.opens)) % DAY_MINUTES or DAY_MINUTES)


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def week_minute(moment: datetime) -> int:
    """Minutes into the week (0 = Monday 00:00) of a moment, on its own wall clock."""
    return moment.weekday() * DAY_MINUTES + moment.hour * 60 + moment.minute


def multirange(ranges: list[tuple[int, int]]) -> str:
    """The text form of an int4multirange: "{[480,720),[840,1080)}"."""
    return "{" + ",".join(f"[{start},{end})" for start, end in ranges) + "}"


_TOKEN = re.compile(r"\s*([^\s,;\-]+|[,;\-])")


def parse(text: str) -> list[Hours]:
    """The ranges the compact form gives, sorted; raises HoursError naming the character."""
    tokens = [(m.group(1), m.start(1) + 1) for m in _TOKEN.finditer(text)]
    if text.strip() and not tokens:
        raise HoursError(_("expected days such as Mo-Fr"), 1)
    position = 0
    result: list[Hours] = []

    def peek():
        return tokens[position] if position < len(tokens) else ("", len(text) + 1)

    def take():
        nonlocal position
        token = peek()
        position += 1
        return token

    while position < len(tokens):
        days = _days(take, peek)
        ranges = _ranges(take, peek)
        kind = CONSULTATION
        word, at = peek()
        if word and word not in {";"}:
            kind = _KIND_WORDS.get(word.casefold())
            if kind is None:
                raise HoursError(
                    _("expected “;”, “appointment” or “phone”, found “%(found)s”")
                    % {"found": word},
                    at,
                )
            take()
        word, at = peek()
        if word == ";":
            take()
        elif word:
            raise HoursError(_("expected “;” before “%(found)s”") % {"found": word}, at)
        for day in days:
            for opens, closes in ranges:
                result.append(Hours(day, opens, closes, kind))
    check(result)
    return sorted(set(result))


def _days(take, peek) -> list[int]:
    days: list[int] = []
    while True:
        first = _day(*take())
        last = first
        if peek()[0] == "-":
            take()
            last = _day(*take())
        span = range(first, last + 1) if last >= first else [*range(first, 7), *range(last + 1)]
        days.extend(day for day in span if day not in days)
        if peek()[0] != ",":
            return days
        take()


def _day(word: str, at: int) -> int:
    day = _DAY_CODES.get(word.casefold())
    if day is None:
        found = word or _("the end")
        raise HoursError(
            _("expected a day (Mo Tu We Th Fr Sa Su), found “%(found)s”") % {"found": found}, at
        )
    return day


_TIME = re.compile(r"([01]?\d|2[0-4]):([0-5]\d)")


def _time(word: str, at: int, *, closing: bool) -> time:
    match = _TIME.fullmatch(word)
    if match is None or (match.group(1) == "24" and (match.group(2) != "00" or not closing)):
        found = word or _("the end")
        raise HoursError(
            _("expected a time such as 08:00, found “%(found)s”") % {"found": found}, at
        )
    hour = int(match.group(1)) % 24
    return time(hour, int(match.group(2)))


def _ranges(take, peek) -> list[tuple[time, time]]:
    ranges = []
    while True:
        word, at = take()
        opens = _time(word, at, closing=False)
        dash, at = take()
        if dash != "-":
            raise HoursError(
                _("expected “-” and the closing time, found “%(found)s”")
                % {"found": dash or _("the end")},
                at,
            )
        word, at = take()
        closes = _time(word, at, closing=True)
        if closes == opens and not (word == "24:00" and opens == time(0)):
            raise HoursError(_("a range must not open and close at the same time"), at)
        ranges.append((opens, closes))
        if peek()[0] != ",":
            return ranges
        take()


def day_name(weekday: int, *, label: bool = False) -> str:
    """The weekday's name (0 = Monday) in the active language, as written mid-sentence
    ("opens lundi", "apre lunedì", "öffnet Montag"), or capitalised as a `label`."""
    name = Locale.parse(get_language() or "en", sep="-").days["format"]["wide"][weekday]
    return capfirst(name) if label else name


def check(hours: list[Hours]) -> None:
    """Ranges of one kind must not overlap (raises HoursError at position 1)."""
    for kind in KINDS:
        spans = sorted((h.start, h.end) for h in hours if h.kind == kind)
        spans += [(start + WEEK_MINUTES, end + WEEK_MINUTES) for start, end in spans[:1]]
        for (_start, end), (next_start, _end) in itertools.pairwise(spans):
            if next_start < end:
                day = day_name((next_start // DAY_MINUTES) % 7)
                raise HoursError(_("two ranges overlap on %(day)s") % {"day": day}, 1)


def format_hours(hours: list[Hours]) -> str:
    """The compact form of the ranges (what parse() reads back as the same ranges)."""
    rules = []
    for kind in KINDS:
        by_day: dict[int, tuple] = {}
        for h in sorted(hours):
            if h.kind == kind:
                by_day.setdefault(h.weekday, ())
                by_day[h.weekday] += ((h.opens, h.closes),)
        groups: dict[tuple, list[int]] = {}
        for day, ranges in sorted(by_day.items()):
            groups.setdefault(ranges, []).append(day)
        for ranges, days in sorted(groups.items(), key=lambda item: item[1]):
            times = ",".join(f"{_clock(o)}-{_clock(c, closing=True)}" for o, c in ranges)
            suffix = "" if kind == CONSULTATION else f" {kind}"
            rules.append(f"{_day_list(days)} {times}{suffix}")
    return "; ".join(rules)


def _clock(value: time, *, closing: bool = False) -> str:
    return "24:00" if closing and value == time(0) else value.strftime("%H:%M")


def _day_list(days: list[int]) -> str:
    """Mo-Fr for a run of three or more days, Mo,Tu for two."""
    parts, run = [], [days[0]]
    for day in days[1:]:
        if day == run[-1] + 1:
            run.append(day)
        else:
            parts.append(run)
            run = [day]
    parts.append(run)
    words = []
    for run in parts:
        if len(run) >= 3:
            words.append(f"{DAYS[run[0]]}-{DAYS[run[-1]]}")
        else:
            words.extend(DAYS[day] for day in run)
    return ",".join(words)


def week_ranges(hours: list[Hours], kinds=OPEN_KINDS) -> list[tuple[int, int]]:
    """The minutes of the week (0 = Monday 00:00) when the location is open, as merged
    half-open ranges within [0, WEEK_MINUTES): a range from Sunday into Monday is split."""
    spans = []
    for h in hours:
        if h.kind in kinds:
            if h.end > WEEK_MINUTES:
                spans += [(h.start, WEEK_MINUTES), (0, h.end - WEEK_MINUTES)]
            else:
                spans.append((h.start, h.end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


_STATE_CODE = re.compile(r"[A-Z0-9]{1,3}")


@lru_cache(maxsize=8)
def _states(country: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """The codes of the country's states or cantons (not the city-level subdivisions the
    holidays package also has), and their names and abbreviations -> code."""
    import holidays

    cls = holidays.country_holidays(country).__class__
    codes = tuple(code for code in cls.subdivisions if _STATE_CODE.fullmatch(code))
    aliases = {
        name.casefold(): code
        for name, code in getattr(cls, "subdivisions_aliases", {}).items()
        if code in codes
    }
    return codes, aliases


def region_code(country: str, region: str) -> str:
    """The public holidays' region of an address: "DE-BY" for Bavaria (from the code or the
    name of the state or canton), "DE" when the region is not given or not known."""
    if country not in TIME_ZONES:
        return ""
    codes, aliases = _states(country)
    wanted = region.strip().casefold()
    code = next((c for c in codes if c.casefold() == wanted), None) or aliases.get(wanted)
    return f"{country}-{code}" if code else country


@dataclass(frozen=True)
class Moment:
    """A moment as the "open now" filter asks about it: the minute of the week and the day in
    Central European time, and the regions with a public holiday that day."""

    minute: int
    day: date
    holiday_regions: tuple[str, ...]
    ends: datetime | None = None  # when the minute is over

    @property
    def key(self) -> str:
        return f"{self.day.isoformat()}:{self.minute}"

    def seconds_left(self, now: datetime) -> int:
        """Whole seconds until the minute is over (0 once it is)."""
        if self.ends is None:
            return 0
        return max(0, int((self.ends - now).total_seconds()))


def moment(now: datetime) -> Moment:
    local = now.astimezone(ZoneInfo("Europe/Berlin"))
    ends = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return Moment(week_minute(local), local.date(), holiday_regions(local.date()), ends)


SATURDAY_TEXT = multirange([(5 * DAY_MINUTES, 6 * DAY_MINUTES)])  # Saturday's minutes


@lru_cache(maxsize=256)
def _holidays(region: str, year: int) -> frozenset[date]:
    """The public holidays of a region in a year; none for a region the holidays package
    does not know (a code it renamed, say), rather than an error on every page."""
    import holidays

    country, _dash, subdiv = region.partition("-")
    try:
        days = holidays.country_holidays(
            country, subdiv=subdiv or None, years=year, language="en_US"
        )
    except (NotImplementedError, KeyError, ValueError):
        return frozenset()
    return frozenset(days)


def is_public_holiday(region: str, day: date) -> bool:
    return bool(region) and day in _holidays(region, day.year)


@lru_cache(maxsize=16)
def holiday_regions(day: date) -> tuple[str, ...]:
    """Every region (country, or country and state or canton) that has a public holiday on
    `day`: what the "open now" filter leaves out that day."""
    regions = []
    for country in TIME_ZONES:
        if is_public_holiday(country, day):
            regions.append(country)
        for code in _states(country)[0]:
            if is_public_holiday(f"{country}-{code}", day):
                regions.append(f"{country}-{code}")
    return tuple(regions)


@dataclass(frozen=True)
class Schedule:
    """What a location's hours mean: the weekly ranges, the closed days (closures as first and
    last day) and the public holidays' region ("" when it opens on public holidays)."""

    hours: tuple[Hours, ...]
    closures: tuple[tuple[date, date], ...] = ()
    holiday_region: str = ""
    country: str = "DE"

    def closed_on(self, day: date) -> bool:
        if any(first <= day <= last for first, last in self.closures):
            return True
        return is_public_holiday(self.holiday_region, day)

    def status(self, now: datetime) -> "Status | None":
        """Open or closed at `now`, until when, and when it opens next; None without hours."""
        ranges = week_ranges(list(self.hours))
        if not ranges:
            return None
        local = now.astimezone(ZoneInfo(TIME_ZONES.get(self.country, "Europe/Berlin")))
        local = local.replace(second=0, microsecond=0)
        if self._open_at(ranges, local):
            return Status(True, until=self._open_until(ranges, local))
        return Status(False, opens=self._next_opening(ranges, local))

    def _open_at(self, ranges, moment: datetime) -> bool:
        minute = week_minute(moment)
        return not self.closed_on(moment.date()) and any(s <= minute < e for s, e in ranges)

    def _open_until(self, ranges, local: datetime) -> datetime:
        """When the open stretch that contains `local` ends (through midnight and the week's
        end while the next day is open too)."""
        moment = local
        for _step in range(8 * len(ranges) + 2):
            minute = week_minute(moment)
            _start, end = next((s, e) for s, e in ranges if s <= minute < e)
            midnight = datetime.combine(moment.date() + timedelta(days=1), time(0), local.tzinfo)
            stop = moment + timedelta(minutes=end - minute)
            if stop > midnight:
                stop = midnight  # looked at a day at a time: the next day may be closed
            if not self._open_at(ranges, stop):
                return stop
            moment = stop
        return moment

    def _next_opening(self, ranges, local: datetime) -> datetime | None:
        for offset in range(LOOK_AHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            if self.closed_on(day):
                continue
            base = day.weekday() * DAY_MINUTES
            midnight = datetime.combine(day, time(0), local.tzinfo)
            candidates = []
            for start, end in ranges:
                if start <= base < end:
                    candidates.append(0)  # open from midnight (hours from the day before)
                elif base <= start < base + DAY_MINUTES:
                    candidates.append(start - base)
            for minutes in sorted(candidates):
                moment = midnight + timedelta(minutes=minutes)
                if moment > local:
                    return moment
        return None


@dataclass(frozen=True)
class Status:
    open: bool
    until: datetime | None = None  # open: when it closes
    opens: datetime | None = None  # closed: when it opens next (None: not within two months)


def describe(status: Status, now: datetime) -> str:
    """ "Open now · closes 18:00", "Closed · opens today 14:00", "Closed · opens Monday 08:00",
    in the active language."""
    from django.utils import formats

    def when(moment: datetime, *, today: str = "", closing: bool = False) -> str:
        clock = moment.strftime("%H:%M")
        if closing and clock == "00:00":  # closes at midnight: 24:00 of the day before
            moment, clock = moment - timedelta(minutes=1), "24:00"
        local_now = now.astimezone(moment.tzinfo)
        days = (moment.date() - local_now.date()).days
        if days == 0:
            return (today or _("today %(time)s")) % {"time": clock}
        if days == 1:
            return _("tomorrow %(time)s") % {"time": clock}
        if days < 7:
            return f"{day_name(moment.weekday())} {clock}"
        return f"{formats.date_format(moment.date(), 'SHORT_DATE_FORMAT')} {clock}"

    if status.open:
        if status.until is None or status.until - now > timedelta(days=7):
            return _("Open now")
        closes = when(status.until, today="%(time)s", closing=True)
        return _("Open now · closes %(when)s") % {"when": closes}
    if status.opens is None:
        return pgettext("opening hours", "Closed")
    return _("Closed · opens %(when)s") % {"when": when(status.opens)}


MARKER_START = "<!--open-status:"
_MARKER = re.compile(rb"<!--open-status:([^|<>]*)\|([0-9/,-]*)\|([A-Z0-9-]*)\|([A-Z]{2})-->")


def marker(text: str, spans, region: str, country: str) -> str:
    """The status marker of a location (what `fill_markers` turns into words as the page is
    served): its hours in the compact form, its closures still to come ("2026-12-24/2026-12-31"),
    its public holidays' region and its country. Written again from what parse() reads, so
    nothing stored by other means than a form (a raw update) reaches the page; "" for hours
    that cannot be read."""
    try:
        text = format_hours(parse(text))
    except HoursError:
        return ""
    return f"{MARKER_START}{text}|{','.join(spans)}|{region}|{country}-->"


def fill_markers(content: bytes, now: datetime) -> bytes:
    """Each status marker in a page replaced by the status at `now`, in the active language
    (nothing where the marker cannot be read)."""
    from django.utils.html import escape

    def status(match: re.Match) -> bytes:
        try:
            weekly = parse(match.group(1).decode())
            closures = tuple(
                (date.fromisoformat(first), date.fromisoformat(last))
                for first, last in (
                    span.split("/") for span in match.group(2).decode().split(",") if span
                )
            )
        except (HoursError, ValueError):
            return b""
        schedule = Schedule(
            tuple(weekly), closures, match.group(3).decode(), match.group(4).decode()
        )
        result = schedule.status(now)
        if result is None:
            return b""
        state = "open" if result.open else "closed"
        words = escape(describe(result, now))
        return f'<span class="open-status open-status--{state}">{words}</span>'.encode()

    return _MARKER.sub(status, content)


SCHEMA_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def opening_hours_specification(text: str, closures=()) -> list[dict]:
    """schema.org OpeningHoursSpecification of the hours (those open to visitors: not phone
    hours), and a closed day range for each closure still to come."""
    result = []
    try:
        entries = parse(text)
    except HoursError:
        return []
    for entry in entries:
        if entry.kind not in OPEN_KINDS:
            continue
        closes = "23:59" if entry.closing == "24:00" else entry.closing  # schema.org has no 24:00
        result.append(
            {
                "@type": "OpeningHoursSpecification",
                "dayOfWeek": f"https://schema.org/{SCHEMA_DAYS[entry.weekday]}",
                "opens": entry.opens.strftime("%H:%M"),
                "closes": closes,
            }
        )
    for closure in closures:
        result.append(
            {
                "@type": "OpeningHoursSpecification",
                "opens": "00:00",
                "closes": "00:00",
                "validFrom": closure.first_day.isoformat(),
                "validThrough": closure.last_day.isoformat(),
            }
        )
    return result
