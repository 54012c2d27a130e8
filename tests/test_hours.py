"""Opening hours: the compact form read and written back, errors that name the character, and
what the hours mean at a moment: across midnight, on the nights the clocks change, on a public
holiday and during a closure."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from directory.hours import (
    APPOINTMENT,
    PHONE,
    Hours,
    HoursError,
    Schedule,
    describe,
    format_hours,
    holiday_regions,
    parse,
    region_code,
    week_ranges,
)
from tests.test_import_export import taxonomy  # noqa: F401 - the fixture

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def at(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize(
    "text",
    [
        "Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-12:00",
        "Mo,We 08:00-12:00; Tu,Th 14:00-19:00 appointment; Mo-Fr 07:30-08:00 phone",
        "Fr 20:00-02:00; Su 22:00-24:00",
        "Mo-Su 00:00-24:00",
    ],
)
def test_the_compact_form_is_read_and_written_back_the_same(text):
    hours = parse(text)

    assert format_hours(hours) == text
    assert parse(format_hours(hours)) == hours


def test_german_day_names_kinds_and_loose_spacing_are_read():
    hours = parse("Mo - Mi 8:00-12:00 ;Do,So 09:00-10:00 Termin;Di 07:00-08:00 Telefon")

    assert format_hours(hours) == (
        "Mo-We 08:00-12:00; Th,Su 09:00-10:00 appointment; Tu 07:00-08:00 phone"
    )
    assert {h.kind for h in hours} == {"consultation", APPOINTMENT, PHONE}


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("Mo-Fr 8h-12:00", 7, "expected a time such as 08:00, found “8h”"),
        ("Xy 08:00-12:00", 1, "expected a day"),
        ("Mo-Fr 08:00 12:00", 13, "expected “-” and the closing time"),
        ("Mo 08:00-12:00 Sa 09:00-10:00", 16, "expected “;”, “appointment” or “phone”"),
        ("Mo 08:00-08:00", 10, "must not open and close at the same time"),
        ("Mo 24:00-02:00", 4, "expected a time"),
        ("Mo 08:00-25:00", 10, "expected a time"),
        ("Mo 08:00-", 10, "found “the end”"),
        ("Mo-Fr 08:00-12:00; Mo 11:00-13:00", 1, "two ranges overlap on Mo"),
    ],
)
def test_a_malformed_form_names_the_character(text, position, message):
    with pytest.raises(HoursError) as raised:
        parse(text)

    assert raised.value.position == position
    assert message in str(raised.value)
    assert str(raised.value).startswith(f"at character {position}: ")


def test_the_week_wraps_from_sunday_into_monday():
    assert week_ranges(parse("Su 22:00-02:00; Mo 08:00-12:00")) == [
        (0, 120),
        (480, 720),
        (6 * 1440 + 1320, 7 * 1440),
    ]
    assert week_ranges(parse("Mo 08:00-12:00 phone")) == []


def schedule(text: str, **kwargs) -> Schedule:
    return Schedule(tuple(parse(text)), **kwargs)


def test_open_now_until_closing_and_the_next_opening():
    practice = schedule("Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-12:00")

    assert describe(practice.status(at(2026, 12, 2, 9, 30)), at(2026, 12, 2, 9, 30)) == (
        "Open now · closes 12:00"
    )
    lunch = at(2026, 12, 2, 12, 0)  # a Wednesday: closing time itself is closed
    assert describe(practice.status(lunch), lunch) == "Closed · opens today 14:00"
    evening = at(2026, 12, 4, 19, 0)  # Friday
    assert describe(practice.status(evening), evening) == "Closed · opens tomorrow 09:00"
    saturday = at(2026, 12, 5, 12, 30)
    assert describe(practice.status(saturday), saturday) == "Closed · opens Monday 08:00"
    assert schedule("Mo 08:00-12:00 phone").status(saturday) is None


def test_hours_across_midnight_stay_open_into_the_next_day():
    night = schedule("Fr 20:00-02:00")

    late = at(2026, 12, 5, 1, 15)  # Saturday, 01:15
    status = night.status(late)
    assert status.open
    assert status.until == at(2026, 12, 5, 2, 0)
    evening = at(2026, 12, 4, 21, 0)
    assert describe(night.status(evening), evening) == "Open now · closes tomorrow 02:00"
    assert not night.status(at(2026, 12, 5, 2, 0)).open

    weekend = schedule("Su 22:00-02:00")
    monday = at(2026, 12, 7, 1, 0)
    assert weekend.status(monday).open
    assert weekend.status(monday).until == at(2026, 12, 7, 2, 0)


def test_the_nights_the_clocks_change_keep_the_wall_clock():
    night = schedule("Sa 22:00-06:00")

    # 29 March 2026: at 02:00 the clocks go forward to 03:00.
    spring = datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("UTC"))  # 03:30 in Berlin
    status = night.status(spring)
    assert status.open
    assert status.until.hour == 6
    # 25 October 2026: at 03:00 the clocks go back to 02:00; 05:30 UTC is 06:30 in Berlin.
    assert not night.status(datetime(2026, 10, 25, 5, 30, tzinfo=ZoneInfo("UTC"))).open
    assert night.status(datetime(2026, 10, 25, 4, 30, tzinfo=ZoneInfo("UTC"))).open
    morning = schedule("Mo-Fr 08:00-12:00")
    assert morning.status(datetime(2026, 3, 30, 6, 30, tzinfo=ZoneInfo("UTC"))).open  # 08:30
    assert not morning.status(datetime(2026, 10, 26, 6, 30, tzinfo=ZoneInfo("UTC"))).open  # 07:30


def test_a_public_holiday_of_the_state_closes_and_the_next_opening_skips_it():
    practice = schedule("Mo-Fr 08:00-18:00", holiday_region=region_code("DE", "Bayern"))
    epiphany = at(2027, 1, 6, 10, 0)  # a Wednesday, a holiday in Bavaria, not in Berlin

    assert region_code("DE", "Bayern") == "DE-BY"
    assert "DE-BY" in holiday_regions(date(2027, 1, 6))
    assert "DE-BE" not in holiday_regions(date(2027, 1, 6))
    status = practice.status(epiphany)
    assert not status.open
    assert status.opens == at(2027, 1, 7, 8, 0)
    berlin = schedule("Mo-Fr 08:00-18:00", holiday_region=region_code("DE", "Berlin"))
    assert berlin.status(epiphany).open
    opens_on_holidays = schedule("Mo-Fr 08:00-18:00")
    assert opens_on_holidays.status(epiphany).open


def test_a_closure_closes_whole_days_and_cuts_hours_at_midnight():
    night = schedule("Fr 20:00-02:00", closures=((date(2026, 12, 5), date(2026, 12, 20)),))

    friday = at(2026, 12, 4, 21, 0)
    assert night.status(friday).until == at(2026, 12, 5, 0, 0)
    closed = night.status(at(2026, 12, 5, 1, 0))
    assert not closed.open
    assert closed.opens == at(2026, 12, 25, 20, 0)
    assert describe(closed, at(2026, 12, 5, 1, 0)) == "Closed · opens 12/25/2026 20:00"


def test_the_status_speaks_german():
    practice = schedule("Mo-Fr 08:00-12:00")
    saturday = at(2026, 12, 5, 12, 30)

    with translation.override("de"):
        assert describe(practice.status(saturday), saturday) == "Geschlossen · öffnet Montag 08:00"


def test_the_status_speaks_french_and_italian_with_weekdays_as_written_mid_sentence():
    practice = schedule("Mo-Fr 08:00-12:00")
    saturday = at(2026, 12, 5, 12, 30)

    with translation.override("fr"):
        assert describe(practice.status(saturday), saturday).endswith(" lundi 08:00")
    with translation.override("it"):
        assert describe(practice.status(saturday), saturday).endswith(" lunedì 08:00")


def test_weekday_labels_are_capitalised_in_every_language():
    from directory.models import Location

    location = Location(hours="Mo 08:00-12:00")
    with translation.override("fr"):
        assert [day for day, _entries in location.weekly_hours()] == ["Lundi"]
    with translation.override("it"):
        assert [day for day, _entries in location.weekly_hours()] == ["Lunedì"]


def test_hours_compare_as_values():
    assert Hours(0, time(8), time(12)) == parse("Mo 08:00-12:00")[0]


# --- On the site -------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """The moment the pages are served at (the middleware's "now")."""
    import directory.middleware

    moment = {"now": at(2026, 12, 2, 9, 30)}  # a Wednesday
    monkeypatch.setattr(directory.middleware.timezone, "now", lambda: moment["now"])
    return moment


@pytest.fixture
def practice(db):
    from tests.factories import AffiliationFactory

    return AffiliationFactory(
        location__hours="Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-12:00; Mo-Fr 07:30-08:00 phone",
        location__region="Bayern",
        specialist__family_name="Hartmann",
        specialist__slug="lena-hartmann",
    )


def test_a_location_keeps_its_hours_in_one_form_with_what_the_search_needs(practice):
    location = practice.location
    location.refresh_from_db()

    assert location.hours == (
        "Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-12:00; Mo-Fr 07:30-08:00 phone"
    )
    assert location.holiday_region == "DE-BY"
    assert [(r.lower, r.upper) for r in location.open_minutes][:2] == [(480, 720), (840, 1080)]
    location.closed_on_public_holidays = False
    location.save()
    assert location.holiday_region == ""


def test_the_profile_says_whether_it_is_open_as_the_page_is_served_even_from_the_cache(
    client, practice, clock, django_assert_num_queries
):
    from django.core.cache import cache

    cache.clear()
    page = client.get("/en/specialists/lena-hartmann/").text
    assert '<span class="open-status open-status--open">Open now · closes 12:00</span>' in page
    assert '<th scope="row">Monday</th><td>07:30–08:00 (phone hours)<br>08:00–12:00' in page
    assert "open-status:" not in page  # no marker left

    clock["now"] = at(2026, 12, 2, 12, 30)
    with django_assert_num_queries(0):
        page = client.get("/en/specialists/lena-hartmann/").text  # the cached page
    assert "Closed · opens today 14:00" in page
    with translation.override("de"):
        page = client.get("/de/specialists/lena-hartmann/").text
    assert "Geschlossen · öffnet heute 14:00" in page


def test_a_closure_and_a_public_holiday_close_the_practice_on_the_page(client, practice, clock):
    from directory.models import Closure

    Closure.objects.create(
        location=practice.location,
        first_day=date(2026, 12, 2),
        last_day=date(2026, 12, 4),
        note="Team training",
    )
    page = client.get("/en/specialists/lena-hartmann/").text
    assert "Closed · opens Saturday 09:00" in page  # the 5th
    assert "Closed: 12/02/2026 – 12/04/2026 (Team training)" in page

    clock["now"] = at(2027, 1, 6, 10, 0)  # Epiphany, a public holiday in Bavaria
    page = client.get("/en/specialists/lena-hartmann/").text
    assert "Closed · opens tomorrow 07:30" not in page  # phone hours are not opening hours
    assert "Closed · opens tomorrow 08:00" in page


def test_the_card_in_the_results_says_it_too(client, practice, clock):
    from directory.search.index import rebuild_all

    rebuild_all()
    page = client.get("/en/specialists/", {"q": "Hartmann"}).text
    assert '<p class="card__hours"><span class="open-status open-status--open">' in page

    clock["now"] = at(2026, 12, 6, 10, 0)  # Sunday
    page = client.get("/en/specialists/", {"q": "Hartmann"}).text
    assert "Closed · opens tomorrow 08:00" in page


def test_the_structured_data_gives_the_hours_and_the_closures(client, practice, clock):
    import json

    from directory.models import Closure

    Closure.objects.create(
        location=practice.location, first_day=date(2026, 12, 24), last_day=date(2026, 12, 31)
    )
    page = client.get("/en/specialists/lena-hartmann/").text
    data = [
        json.loads(block.split(">", 1)[1].split("</script>")[0])
        for block in page.split('<script type="application/ld+json"')[1:]
    ]
    physician = next(item for item in data if item["@type"] == "Physician")
    hours = physician["openingHoursSpecification"]
    assert hours[0] == {
        "@type": "OpeningHoursSpecification",
        "dayOfWeek": "https://schema.org/Monday",
        "opens": "08:00",
        "closes": "12:00",
    }
    assert len(hours) == 11 + 1  # Mon-Fri twice, Saturday once (not the phone hours), closure
    assert hours[-1]["validFrom"] == "2026-12-24"
    assert hours[-1]["validThrough"] == "2026-12-31"


def test_an_editor_gets_the_character_of_a_mistake_and_the_hours_are_tidied(client, practice):
    from tests.factories import UserFactory

    location = practice.location
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = f"/admin/directory/location/{location.pk}/change/"
    form = {
        "clinic": location.clinic_id,
        "street": location.street,
        "postcode": location.postcode,
        "city": location.city,
        "country": "DE",
        "hours": "Mo-Fr 08:00-12:00; Sa 9h-12:00",
        "hours_source": "practice",
        "hours_confirmed_on": "2026-01-05",
        "closed_on_public_holidays": "on",
        "closures-TOTAL_FORMS": "0",
        "closures-INITIAL_FORMS": "0",
        "features-TOTAL_FORMS": "0",
        "features-INITIAL_FORMS": "0",
    }

    response = client.post(url, form)
    assert response.status_code == 200
    assert "at character 23: expected a time such as 08:00, found “9h”" in response.text

    form["hours"] = "mo - fr 8:00-12:00 ; sa 09:00-12:00"
    assert client.post(url, form).status_code == 302
    location.refresh_from_db()
    assert location.hours == "Mo-Fr 08:00-12:00; Sa 09:00-12:00"


# --- The filters --------------------------------------------------------------------------


@pytest.fixture
def week(db):
    """Practices open at different times of the week, found by the word "Wochenplan"."""
    from directory.models import Closure
    from directory.search.index import rebuild_all
    from tests.factories import AffiliationFactory

    def practice(name: str, hours: str, **location):
        return AffiliationFactory(
            specialist__family_name=name,
            location__clinic__name=f"Praxis Wochenplan {name}",
            location__hours=hours,
            **{f"location__{key}": value for key, value in location.items()},
        ).location

    practice("Morgen", "Mo-Fr 08:00-12:00")
    practice("Abend", "Mo-Fr 16:00-20:00; Sa 09:00-12:00")
    practice("Nacht", "Fr 20:00-02:00")
    practice("Telefon", "Mo-Fr 08:00-12:00 phone")
    closed = practice("Urlaub", "Mo-Fr 08:00-12:00")
    Closure.objects.create(location=closed, first_day=date(2026, 12, 1), last_day=date(2026, 12, 9))
    practice("Bayern", "Mo-Fr 08:00-12:00", region="Bayern")
    practice("Feiertag", "Mo-Fr 08:00-12:00", region="Bayern", closed_on_public_holidays=False)
    practice("Ohne", "")
    rebuild_all()


def names(client, **params) -> set[str]:
    from tests.test_search import found

    return set(found(client.get("/en/specialists/", {"q": "Wochenplan", **params})))


def test_open_now_lists_exactly_those_open_at_the_moment(client, week, clock):
    clock["now"] = at(2026, 12, 2, 9, 30)  # Wednesday morning
    assert names(client, open_now="1") == {"Morgen", "Bayern", "Feiertag"}
    clock["now"] = at(2026, 12, 2, 17, 0)  # the same list a few hours later: not the cached one
    assert names(client, open_now="1") == {"Abend"}
    clock["now"] = at(2026, 12, 5, 1, 0)  # Saturday night, after Friday's evening
    assert names(client, open_now="1") == {"Nacht"}
    clock["now"] = at(2027, 1, 6, 9, 30)  # Epiphany: closed in Bavaria unless open on holidays
    assert names(client, open_now="1") == {"Morgen", "Feiertag", "Urlaub"}
    assert len(names(client)) == 8


def test_an_open_now_page_is_cached_for_its_minute_only(client, week, clock):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()
    params = {"q": "Wochenplan", "open_now": "1"}

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/en/specialists/", params).status_code == 200
        return len(captured)

    clock["now"] = at(2026, 12, 2, 11, 59, 5)
    assert queries() > 0
    clock["now"] = at(2026, 12, 2, 11, 59, 58)
    assert queries() == 0  # the same minute: the same list, from the cache
    clock["now"] = at(2026, 12, 2, 12, 0, 0)  # the next minute: Morgen closes at 12:00
    assert queries() > 0
    assert names(client, open_now="1") == set()


def test_the_card_agrees_with_the_filter(client, week, clock):
    clock["now"] = at(2026, 12, 2, 9, 30)
    page = client.get("/en/specialists/", {"q": "Wochenplan"}).text
    cards = page.split('<article class="card')[1:]
    open_cards = {
        card.split("Erika ")[1].split("<")[0] for card in cards if "open-status--open" in card
    }
    assert open_cards == names(client, open_now="1")


def test_open_on_saturdays_lists_those_with_saturday_hours(client, week, clock):
    assert names(client, saturday="1") == {"Abend", "Nacht"}  # Nacht: Saturday 00:00-02:00
    page = client.get("/en/specialists/", {"q": "Wochenplan", "saturday": "1"}).text
    assert 'id="saturday-1" checked' in page


def test_the_hours_filters_use_their_index(db):
    from django.db import connection

    from directory.models import SpecialistSearch
    from directory.search.plan import _OPEN_NOW_SQL, _SATURDAY_SQL

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql, params in (
            (_OPEN_NOW_SQL, [600, date(2026, 12, 2), []]),
            (_SATURDAY_SQL, ["{[7200,8640)}"]),
        ):
            table = SpecialistSearch._meta.db_table
            cursor.execute(f"EXPLAIN SELECT 1 FROM {table} WHERE {sql}", params)  # noqa: S608
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "search_open_minutes_gist" in plan, plan


# --- Spreadsheets --------------------------------------------------------------------------


@pytest.mark.parametrize("xlsx", [False, True], ids=["csv", "xlsx"])
def test_the_hours_column_round_trips_through_csv_and_xlsx(db, taxonomy, xlsx):  # noqa: F811
    import io

    from directory.csv_format import export_specialists, import_specialists, read_rows
    from directory.models import Location
    from tests.test_import_export import make_csv, make_row

    report = import_specialists(
        make_csv(make_row(hours="mo-fr 8:00-12:00 ; Sa 09:00-12:00; Mo-Fr 07:30-08:00 Telefon"))
    )
    assert report.ok, report.errors
    location = Location.objects.get()
    assert location.hours == "Mo-Fr 08:00-12:00; Sa 09:00-12:00; Mo-Fr 07:30-08:00 phone"

    output = io.BytesIO() if xlsx else io.StringIO()
    export_specialists(output, xlsx=xlsx)
    data = output.getvalue()
    assert read_rows(data)[0]["hours"] == location.hours
    again = import_specialists(data)
    assert [r.action for r in again.results] == ["unchanged"]

    changed = import_specialists(make_csv(make_row(hours="Mo-Fr 08:00-18:00")))
    assert [r.changes for r in changed.results] == [["hours"]]
    location.refresh_from_db()
    assert location.hours == "Mo-Fr 08:00-18:00"


def test_malformed_hours_are_a_row_error_naming_the_character(db, taxonomy):  # noqa: F811
    from directory.csv_format import import_specialists
    from directory.models import Specialist
    from tests.test_import_export import make_csv, make_row

    report = import_specialists(
        make_csv(
            make_row(slug="first"), make_row(slug="second", hours="Mo-Fr 08:00-12:00; Sa 9-12")
        )
    )

    assert report.errors == [
        (
            3,
            "hours 'Mo-Fr 08:00-12:00; Sa 9-12': at character 23: expected a time such as "
            "08:00, found “9”",
        )
    ]
    assert not Specialist.objects.exists()


# --- Found in review ----------------------------------------------------------------------


def test_a_whole_day_is_open_on_every_day_of_the_week():
    always = schedule("Mo-Su 00:00-24:00")

    assert week_ranges(list(always.hours)) == [(0, 7 * 1440)]
    wednesday = at(2026, 12, 2, 12, 0)
    assert always.status(wednesday).open
    assert describe(always.status(wednesday), wednesday) == "Open now"
    with pytest.raises(HoursError, match="overlap on Tuesday"):
        parse("Tu 00:00-24:00; Tu 08:00-09:00")


def test_closing_at_midnight_reads_24_00():
    evening = schedule("Mo-Fr 18:00-24:00")
    now = at(2026, 12, 2, 20, 0)

    assert describe(evening.status(now), now) == "Open now · closes 24:00"


def test_city_level_holiday_regions_fall_back_to_the_state_rules():
    assert region_code("DE", "Augsburg") == "DE"
    assert region_code("CH", "Stadt Zürich") == "CH"
    assert region_code("CH", "Zürich") == "CH-ZH"
    assert region_code("AT", "Wien") == "AT-9"
    assert not schedule("Mo 08:00-12:00", holiday_region="DE-XX").closed_on(date(2027, 1, 6))


def test_hours_stored_behind_the_forms_back_never_reach_the_page_as_html(client, practice, clock):
    from directory.models import Location

    Location.objects.filter(pk=practice.location_id).update(hours="Mo 08:00-12:00 --><b>x</b>")

    response = client.get("/en/specialists/lena-hartmann/")
    assert response.status_code == 200
    assert "<b>x</b>" not in response.text


def test_hours_too_long_once_written_out_are_refused_in_the_form():
    from django.core.exceptions import ValidationError

    from directory.models import validate_hours

    many = "Mo-Su " + ",".join(f"{h:02}:00-{h:02}:30" for h in range(6, 22))
    many += "; " + "; ".join(f"{day} 22:{n:02}-23:00" for n, day in enumerate(["Mo", "Tu", "We"]))
    with pytest.raises(ValidationError, match="at most 500 fit"):
        validate_hours(many)


def test_two_rows_giving_one_address_different_hours_are_an_error_in_any_chunk(
    db,
    taxonomy,  # noqa: F811
    monkeypatch,
):
    import directory.csv_format
    from directory.csv_format import import_specialists
    from tests.test_import_export import make_csv, make_row

    monkeypatch.setattr(directory.csv_format, "CHUNK_ROWS", 2)
    rows = [
        make_row(slug="first", hours="Mo-Fr 08:00-12:00"),
        make_row(slug="second", hours="Mo-Fr 8:00-12:00"),  # the same hours, written otherwise
        make_row(slug="third", hours="Mo-Fr 08:00-18:00"),
    ]

    report = import_specialists(make_csv(*rows))

    assert report.errors == [
        (2, "row 4 gives the same practice address other hours, accessibility or coordinates"),
        (3, "row 4 gives the same practice address other hours, accessibility or coordinates"),
        (4, "row 2 gives the same practice address other hours, accessibility or coordinates"),
    ]


def test_the_command_reads_a_file_from_a_pipe(db, taxonomy):  # noqa: F811
    import io
    import os
    import threading

    from django.core.management import call_command

    from directory.models import Specialist
    from tests.test_import_export import make_csv, make_row

    read, write = os.pipe()
    data = make_csv(make_row(slug="piped")).encode()
    writer = threading.Thread(target=lambda: (os.write(write, data), os.close(write)))
    writer.start()
    try:
        call_command("import_directory", f"/dev/fd/{read}", stdout=io.StringIO())
    finally:
        writer.join()
        os.close(read)
    assert Specialist.objects.filter(slug="piped").exists()
