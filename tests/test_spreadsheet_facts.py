"""The spreadsheet columns `accessibility` (the practice address's facts, "-" for one it does not
have) and `services` (video consultations and home visits of the place of work): row errors,
the round trip in CSV and XLSX, what an import writes (only what changed, as the import's,
confirmed today), two rows disagreeing about one address, and the search seeing it all."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from directory.csv_format import COLUMNS, export_specialists, import_specialists, read_rows
from directory.models import Affiliation, FactSource, Location, LocationFeature, Specialist
from tests.factories import AffiliationFactory
from tests.test_import_export import make_csv, make_row, taxonomy  # noqa: F401 - the fixture
from tests.test_search import found

pytestmark = pytest.mark.django_db

FEATURES = "accessible_toilet, disabled_parking, induction_loop, sign_language, visual_help"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def facts(location=None) -> dict[str, tuple]:
    """Feature -> (present, source, confirmed_on) of the location (the only one if not given)."""
    location = location or Location.objects.get()
    return {
        fact.feature: (fact.present, fact.source, fact.confirmed_on)
        for fact in LocationFeature.objects.filter(location=location)
    }


def services(slug: str = "mara-lindqvist") -> tuple:
    affiliation = Affiliation.objects.get(specialist__slug=slug, is_primary=True)
    return (
        affiliation.video_consultation,
        affiliation.home_visits,
        affiliation.services_source,
        affiliation.services_confirmed_on,
    )


def age_everything(days: int = 100) -> None:
    """Make every fact and service the practice's, confirmed `days` ago."""
    then = timezone.localdate() - timedelta(days=days)
    LocationFeature.objects.update(source=FactSource.PRACTICE, confirmed_on=then)
    Affiliation.objects.update(services_source=FactSource.PRACTICE, services_confirmed_on=then)


def test_malformed_codes_are_row_errors_naming_them_with_their_row_numbers(taxonomy):  # noqa: F811
    good = "step_free; -induction_loop"
    rows = [
        make_row(slug="good", accessibility=good, services="video"),
        make_row(slug="typo", accessibility="step-free; lift"),
        make_row(slug="unknown", accessibility="ramp; lift"),
        make_row(slug="twice", accessibility="lift; LIFT"),
        make_row(slug="both", accessibility="lift; -lift"),
        make_row(slug="phone", accessibility=good, services="video; phone"),
        make_row(slug="absent", accessibility=good, services="-video"),
        make_row(slug="near", accessibility=good, services="home-visits"),
        make_row(slug="doubled", accessibility=good, services="video;video"),
    ]

    report = import_specialists(make_csv(*rows))

    assert report.errors == [
        (3, "unknown accessibility code 'step-free'; did you mean: step_free?"),
        (4, f"unknown accessibility code 'ramp' (use step_free, lift, {FEATURES})"),
        (5, "accessibility code 'lift' is given twice"),
        (6, "accessibility code 'lift' is given both with and without '-'"),
        (7, "unknown service 'phone' (use video, home_visits)"),
        (8, "services lists only what is offered: leave 'video' out rather than writing '-video'"),
        (9, "unknown service 'home-visits'; did you mean: home_visits?"),
        (10, "service 'video' is given twice"),
    ]
    assert not report.applied
    assert not Specialist.objects.exists()
    assert not LocationFeature.objects.exists()


@pytest.mark.parametrize("xlsx", [False, True], ids=["csv", "xlsx"])
def test_both_columns_round_trip_through_csv_and_xlsx(taxonomy, xlsx):  # noqa: F811
    report = import_specialists(
        make_csv(
            make_row(
                accessibility="lift ; -STEP_FREE;accessible_toilet", services="home_visits; video"
            )
        )
    )
    assert report.ok, report.errors
    today = timezone.localdate()
    imported = FactSource.IMPORT
    assert facts() == {
        "step_free": (False, imported, today),
        "lift": (True, imported, today),
        "accessible_toilet": (True, imported, today),
    }
    assert services() == (True, True, imported, today)
    age_everything()
    before = (facts(), services())

    output = io.BytesIO() if xlsx else io.StringIO()
    export_specialists(output, xlsx=xlsx)
    data = output.getvalue()
    [row] = read_rows(data)
    # In the order of Feature and Service, whatever the file said.
    assert row["accessibility"] == "-step_free;lift;accessible_toilet"
    assert row["services"] == "video;home_visits"
    if not xlsx:  # a cell beginning with "-" is no formula for a spreadsheet program
        [raw] = csv.DictReader(io.StringIO(data))
        assert raw["accessibility"] == "'-step_free;lift;accessible_toilet"

    again = import_specialists(data)
    assert again.applied
    assert [(r.action, r.changes) for r in again.results] == [("unchanged", [])]
    assert (facts(), services()) == before


def test_importing_the_same_file_twice_changes_nothing_the_second_time(taxonomy):  # noqa: F811
    data = make_csv(
        make_row(accessibility="step_free; -induction_loop", services="video"),
        make_row(
            slug="ida-berg",
            given_name="Ida",
            street="Südallee 2",
            accessibility="",
            services="",
        ),
    )
    assert import_specialists(data).applied
    age_everything()
    before = (
        facts(Location.objects.get(street="Nordallee 5")),
        list(LocationFeature.objects.order_by("pk").values_list("pk", flat=True)),
        list(Affiliation.objects.order_by("pk").values()),
        dict(Specialist.objects.values_list("slug", "modified")),
    )

    report = import_specialists(data)

    assert report.applied
    assert [r.action for r in report.results] == ["unchanged", "unchanged"]
    after = (
        facts(Location.objects.get(street="Nordallee 5")),
        list(LocationFeature.objects.order_by("pk").values_list("pk", flat=True)),
        list(Affiliation.objects.order_by("pk").values()),
        dict(Specialist.objects.values_list("slug", "modified")),
    )
    assert after == before


def test_only_the_facts_an_import_creates_or_changes_become_its_own_confirmed_today(taxonomy):  # noqa: F811
    import_specialists(
        make_csv(make_row(accessibility="step_free; lift; induction_loop", services="video"))
    )
    age_everything()
    then, today = timezone.localdate() - timedelta(days=100), timezone.localdate()
    practice, imported = FactSource.PRACTICE, FactSource.IMPORT

    report = import_specialists(
        make_csv(make_row(accessibility="step_free; -lift; accessible_toilet", services="video"))
    )

    assert [r.changes for r in report.results] == [["accessibility"]]
    assert facts() == {
        "step_free": (True, practice, then),  # stated as it was: untouched
        "lift": (False, imported, today),  # now stated as not there
        "accessible_toilet": (True, imported, today),  # new
        # induction_loop, which the file no longer gives, is gone
    }
    assert services() == (True, False, practice, then)

    report = import_specialists(
        make_csv(
            make_row(
                accessibility="step_free; -lift; accessible_toilet", services="video;home_visits"
            )
        )
    )

    assert [r.changes for r in report.results] == [["services"]]
    assert services() == (True, True, imported, today)
    assert facts()["step_free"] == (True, practice, then)


def test_an_empty_cell_removes_the_facts_and_a_file_without_the_columns_leaves_them(taxonomy):  # noqa: F811
    import_specialists(make_csv(make_row(accessibility="step_free; -lift", services="video")))
    age_everything()
    kept = (facts(), services())

    # A file in the format before the columns existed: the facts stay as they are.
    older = [column for column in COLUMNS if column not in {"accessibility", "services"}]
    data = io.StringIO()
    writer = csv.DictWriter(data, fieldnames=older, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerow(make_row(headline="Head of department"))
    report = import_specialists(data.getvalue())
    assert [r.changes for r in report.results] == [["headline"]]
    assert (facts(), services()) == kept

    report = import_specialists(make_csv(make_row(headline="Head of department")))

    assert [r.changes for r in report.results] == [["accessibility", "services"]]
    assert facts() == {}
    assert services() == (False, False, FactSource.IMPORT, timezone.localdate())


def test_two_rows_giving_one_address_different_accessibility_are_an_error_in_any_chunk(
    taxonomy,  # noqa: F811
    monkeypatch,
):
    import directory.csv_format

    monkeypatch.setattr(directory.csv_format, "CHUNK_ROWS", 2)
    rows = [
        make_row(slug="first", accessibility="step_free; -lift", services="video"),
        make_row(slug="second", accessibility="-LIFT;step_free", services=""),  # the same
        make_row(slug="third", accessibility="step_free"),
        make_row(slug="elsewhere", street="Südallee 2", accessibility="lift"),
    ]

    report = import_specialists(make_csv(*rows))

    message = "gives the same practice address other hours, accessibility or coordinates"
    assert report.errors == [
        (2, f"row 4 {message}"),
        (3, f"row 4 {message}"),
        (4, f"row 2 {message}"),
    ]
    assert not report.applied


def search(client, **params) -> set[str]:
    return set(found(client.get("/en/specialists/", {"q": "Klinikum Nord", **params})))


def test_the_filter_and_the_facet_find_what_an_import_wrote_for_everyone_working_there(
    client,
    taxonomy,  # noqa: F811
):
    rows = [
        make_row(slug="eben", family_name="Eben"),
        make_row(slug="stufe", family_name="Stufe", street="Südallee 2"),
    ]
    assert import_specialists(make_csv(*rows)).applied
    # A colleague at the first address, whom the file does not name.
    location = Location.objects.get(street="Nordallee 5")
    AffiliationFactory(
        specialist__family_name="Kollegin",
        specialist__slug="kollegin",
        location=location,
        clinic=location.clinic,
    )
    assert search(client) == {"Eben", "Stufe", "Kollegin"}
    assert search(client, step_free="1") == set()

    rows[0] |= {"accessibility": "step_free; lift", "services": "video"}
    rows[1] |= {"accessibility": "-step_free; lift", "services": "home_visits"}
    assert import_specialists(make_csv(*rows)).applied

    assert search(client, step_free="1") == {"Eben", "Kollegin"}
    assert search(client, service="video") == {"Eben"}
    assert search(client, service="home_visits") == {"Stufe"}

    rows[0] |= {"accessibility": "-step_free", "services": ""}
    assert import_specialists(make_csv(*rows)).applied

    assert search(client, step_free="1") == set()
    assert search(client, service="video") == set()


def test_changed_facts_are_written_in_bulk_not_row_by_row(taxonomy):  # noqa: F811
    rows = [
        make_row(
            slug=f"person-{n:02}",
            given_name=f"P{n}",
            street=f"Nordallee {n}",
            accessibility="step_free",
            services="video",
        )
        for n in range(40)
    ]
    import_specialists(make_csv(*rows))

    def import_counting(count: int, accessibility: str, offered: str) -> int:
        changed = [
            {**row, "accessibility": accessibility, "services": offered} if n < count else row
            for n, row in enumerate(rows)
        ]
        with CaptureQueriesContext(connection) as queries:
            report = import_specialists(make_csv(*changed))
        assert report.applied
        assert report.count("update") == count
        return len(queries)

    # Facts changed and created, services changed: in a few rows, then in all of them.
    few = import_counting(4, "-step_free; lift", "home_visits")
    many = import_counting(40, "-step_free; -lift", "video; home_visits")

    # Ten times the rows cost no more queries: nothing runs per row.
    assert many <= few
    assert LocationFeature.objects.filter(feature="lift", present=False).count() == 40
    assert LocationFeature.objects.filter(feature="step_free", present=False).count() == 40
    assert Affiliation.objects.filter(home_visits=True, video_consultation=True).count() == 40


def test_an_import_confirms_the_listing_facts_and_hours_it_changes(taxonomy):  # noqa: F811
    assert import_specialists(make_csv(make_row(hours="Mo-Fr 08:00-12:00"))).ok
    specialist = Specialist.objects.get()
    location = Location.objects.get()
    today = timezone.localdate()
    assert (specialist.languages_source, specialist.languages_confirmed_on) == ("import", today)
    assert (location.hours_source, location.hours_confirmed_on) == ("import", today)
    then = today - timedelta(days=100)
    Specialist.objects.update(
        languages_source="practice",
        languages_confirmed_on=then,
        insurance_source="practice",
        insurance_confirmed_on=then,
        new_patients_source="practice",
        new_patients_confirmed_on=then,
    )
    Location.objects.update(hours_source="practice", hours_confirmed_on=then)

    changed = make_row(hours="Mo-Fr 08:00-13:00", languages="de;en;fr", new_patients="no")
    assert import_specialists(make_csv(changed)).ok

    specialist.refresh_from_db()
    location.refresh_from_db()
    assert (specialist.languages_source, specialist.languages_confirmed_on) == ("import", today)
    assert (specialist.new_patients_source, specialist.new_patients_confirmed_on) == (
        "import",
        today,
    )
    assert (specialist.insurance_source, specialist.insurance_confirmed_on) == ("practice", then)
    assert (location.hours_source, location.hours_confirmed_on) == ("import", today)
