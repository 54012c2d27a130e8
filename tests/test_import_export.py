"""The specialists CSV: import, dry run, errors, idempotence, round trip."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from directory.csv_format import COLUMNS, CsvFormatError, export_specialists, import_specialists
from directory.models import Clinic, Condition, Location, Specialist, Specialty
from tests.factories import ClinicFactory, ConditionFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db


def make_row(**values) -> dict:
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        {
            "slug": "mara-lindqvist",
            "prefix": "Dr. med.",
            "given_name": "Mara",
            "family_name": "Lindqvist",
            "headline": "Senior consultant",
            "specialties": "visceral-surgery",
            "conditions": "liver-metastases",
            "languages": "de;en",
            "insurance": "statutory;private",
            "new_patients": "yes",
            "clinic": "Klinikum Nord",
            "street": "Nordallee 5",
            "postcode": "99084",
            "city": "Erfurt",
            "country": "DE",
            "bio_en": "Experienced liver surgeon.",
            "bio_de": "Erfahrene Leberchirurgin.",
            "status": "published",
        }
    )
    row.update(values)
    return row


def make_csv(*rows: dict) -> str:
    output = io.StringIO()
    writer = csv.DictWriter(output, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return output.getvalue()


@pytest.fixture
def taxonomy():
    SpecialtyFactory(
        slug="visceral-surgery", name_en="Visceral surgery", name_de="Viszeralchirurgie"
    )
    ConditionFactory(slug="liver-metastases", name_en="Liver metastases", name_de="Lebermetastasen")
    ClinicFactory(name="Klinikum Nord", slug="klinikum-nord")


def test_a_good_file_creates_the_specialist_with_everything(taxonomy):
    report = import_specialists(make_csv(make_row()))

    assert report.ok
    assert report.applied
    specialist = Specialist.objects.get(slug="mara-lindqvist")
    assert specialist.languages == ["de", "en"]
    assert specialist.insurance == ["statutory", "private"]
    assert specialist.biography_de == "Erfahrene Leberchirurgin."
    assert [c.slug for c in specialist.conditions.all()] == ["liver-metastases"]
    affiliation = specialist.affiliations.get()
    assert affiliation.is_primary
    assert affiliation.clinic.slug == "klinikum-nord"


def test_names_in_either_language_find_existing_taxonomy(taxonomy):
    import_specialists(
        make_csv(make_row(specialties="Viszeralchirurgie", conditions="LIVER METASTASES"))
    )

    specialist = Specialist.objects.get(slug="mara-lindqvist")
    assert specialist.specialties.get().slug == "visceral-surgery"
    assert specialist.conditions.get().slug == "liver-metastases"
    assert not Specialty.objects.filter(needs_review=True).exists()


def test_a_misspelt_field_or_condition_is_a_row_error_naming_the_nearest(taxonomy):
    report = import_specialists(
        make_csv(make_row(specialties="Viszeralchirugie", conditions="liver-metastasis"))
    )

    errors = [message for _row, message in report.errors]
    assert any(
        "unknown medical field 'Viszeralchirugie'; did you mean: Visceral surgery" in e
        for e in errors
    ), errors
    assert any(
        "unknown condition or treatment 'liver-metastasis'; did you mean: Liver metastases" in e
        for e in errors
    ), errors
    assert not Specialist.objects.exists()
    assert not Condition.objects.filter(needs_review=True).exists()


def test_names_and_synonyms_in_either_language_find_taxonomy_whatever_their_case(taxonomy):
    condition = Condition.objects.get(slug="liver-metastases")
    condition.synonyms_de = "Tochtergeschwülste der Leber"
    condition.save()

    report = import_specialists(
        make_csv(
            make_row(specialties="VISZERALCHIRURGIE", conditions="tochtergeschwulste der leber")
        )
    )

    assert report.ok, report.errors
    specialist = Specialist.objects.get()
    assert list(specialist.conditions.values_list("slug", flat=True)) == ["liver-metastases"]


def test_taxonomy_created_on_purpose_is_flagged_and_hidden_until_approved(taxonomy, client):
    report = import_specialists(
        make_csv(make_row(conditions="Liver metastases;Cholangiocarcinoma")), create_taxonomy=True
    )

    assert report.new_conditions == ["Cholangiocarcinoma"]
    created = Condition.objects.get(needs_review=True)
    assert created.name_en == "Cholangiocarcinoma"
    assert client.get(f"/en/conditions/{created.slug}/").status_code == 404
    assert "Cholangiocarcinoma" not in client.get("/en/conditions/").content.decode()
    assert (
        "Cholangiocarcinoma" not in client.get("/en/specialists/mara-lindqvist/").content.decode()
    )

    created.needs_review = False
    created.save()

    assert client.get(f"/en/conditions/{created.slug}/").status_code == 200
    assert "Cholangiocarcinoma" in client.get("/en/specialists/mara-lindqvist/").content.decode()


def test_location_without_coordinates_is_geocoded_from_the_gazetteer(taxonomy):
    import_specialists(make_csv(make_row()))

    location = Location.objects.get(street="Nordallee 5")
    assert location.latitude == pytest.approx(50.98, abs=0.1)
    assert location.longitude == pytest.approx(11.03, abs=0.1)


def test_an_unknown_city_without_coordinates_is_a_row_error(taxonomy):
    report = import_specialists(make_csv(make_row(city="Atlantis")))

    assert report.errors == [
        (2, "city 'Atlantis' is not in the gazetteer for DE; give latitude and longitude")
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"country": "FR"}, "country must be DE, AT or CH"),
        ({"languages": "de;klingon"}, "unknown language code 'klingon'"),
        ({"insurance": "statutory;golden"}, "insurance must be statutory, private or self_pay"),
        ({"new_patients": "maybe"}, "new_patients must be yes or no"),
        ({"status": "archived"}, "status must be draft or published"),
        ({"family_name": ""}, "family_name is required"),
        ({"email": "not-an-email"}, "is not a valid address"),
        ({"latitude": "north", "longitude": "11"}, "latitude must be a number"),
        ({"latitude": "50.9"}, "give both latitude and longitude"),
        ({"slug": "Mara Lindqvist!"}, "may only contain letters, digits and hyphens"),
    ],
)
def test_each_kind_of_bad_row_is_reported_with_its_row_number(taxonomy, values, message):
    report = import_specialists(make_csv(make_row(slug="first"), make_row(**values)))

    assert not report.applied
    assert any(row == 3 and message in error for row, error in report.errors), report.errors


def test_one_bad_row_changes_nothing_at_all(taxonomy):
    import_specialists(make_csv(make_row(slug="good-one"), make_row(slug="bad-one", country="XX")))

    assert not Specialist.objects.exists()
    assert not Location.objects.exists()


def test_an_import_that_fails_while_writing_changes_nothing(taxonomy, monkeypatch):
    """Every row checked out, but the database fails while the second row is written: the first
    row, the new clinic and the new medical field are rolled back with it."""
    from django.db import DatabaseError

    from directory.models import Affiliation, SpecialistSearch

    before = (Specialist.objects.count(), Clinic.objects.count(), Specialty.objects.count())
    indexed = SpecialistSearch.objects.count()
    original = Affiliation.objects.update_or_create
    calls = []

    def fail_on_the_second_row(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise DatabaseError("the server closed the connection")
        return original(*args, **kwargs)

    monkeypatch.setattr(Affiliation.objects, "update_or_create", fail_on_the_second_row)
    data = make_csv(
        make_row(),
        make_row(
            slug="jonas-berg",
            given_name="Jonas",
            family_name="Berg",
            clinic="Praxis Süd",
            specialties="Hand surgery",
        ),
    )

    with pytest.raises(DatabaseError):
        import_specialists(data, create_taxonomy=True)

    assert len(calls) == 2  # the first row was written before the failure
    assert (Specialist.objects.count(), Clinic.objects.count(), Specialty.objects.count()) == before
    assert SpecialistSearch.objects.count() == indexed


@pytest.fixture
def small_chunks(monkeypatch):
    """Rows checked and written two at a time, so a few rows cross the chunks' edges."""
    import directory.csv_format

    monkeypatch.setattr(directory.csv_format, "CHUNK_ROWS", 2)


def test_a_bad_row_after_chunks_were_written_changes_nothing(taxonomy, small_chunks):
    from directory.models import SpecialistSearch

    rows = [make_row(slug=f"person-{n}", given_name=f"P{n}", clinic="Praxis Süd") for n in range(4)]
    report = import_specialists(make_csv(*rows, make_row(slug="last", country="XX")))

    assert report.errors == [(6, "country must be DE, AT or CH, not 'XX'")]
    assert [r.action for r in report.results] == ["create"] * 4
    assert not report.applied
    assert not Specialist.objects.exists()
    assert not Clinic.objects.filter(name="Praxis Süd").exists()
    assert not SpecialistSearch.objects.exists()


def test_a_slug_twice_is_found_across_chunks(taxonomy, small_chunks):
    rows = [make_row(slug=f"person-{n}") for n in range(3)]

    report = import_specialists(make_csv(*rows, make_row(slug="person-0")))

    assert report.errors == [(5, "slug 'person-0' appears twice in the file")]
    assert not Specialist.objects.exists()


def test_a_generated_slug_leaves_alone_a_slug_a_later_chunk_names(taxonomy, small_chunks):
    rows = [
        make_row(slug="", given_name="Ida", family_name="Berg"),
        make_row(slug="someone-else"),
        make_row(slug="ida-berg", given_name="Ida", family_name="Berg", headline="Another Ida"),
    ]

    report = import_specialists(make_csv(*rows))

    assert report.applied, report.errors
    assert [r.slug for r in report.results] == ["ida-berg-2", "someone-else", "ida-berg"]
    assert Specialist.objects.get(slug="ida-berg").headline == "Another Ida"


def test_every_chunk_reaches_the_search_and_the_cached_pages_are_renewed_once(
    taxonomy, small_chunks, monkeypatch
):
    """The search rows are written after each chunk; the cached pages start a new generation
    once, at the end, not once a chunk (a long import would empty the cache again and again)."""
    from directory.models import SpecialistSearch
    from directory.search import index

    bumps = []
    monkeypatch.setattr(index, "bump_generation", lambda **kwargs: bumps.append(kwargs))
    rows = [make_row(slug=f"person-{n}", given_name=f"P{n}") for n in range(5)]

    report = import_specialists(make_csv(*rows))

    assert report.applied
    assert SpecialistSearch.objects.count() == 5
    assert bumps == [{"counts": True}]


def test_dry_run_reports_creates_and_updates_but_changes_nothing(taxonomy):
    import_specialists(make_csv(make_row()))

    report = import_specialists(
        make_csv(make_row(headline="Head of department"), make_row(slug="new-one")), dry_run=True
    )

    assert [(r.action, r.changes) for r in report.results] == [
        ("update", ["headline"]),
        ("create", []),
    ]
    assert Specialist.objects.get(slug="mara-lindqvist").headline == "Senior consultant"
    assert not Specialist.objects.filter(slug="new-one").exists()


def test_importing_the_same_file_twice_changes_nothing_the_second_time(taxonomy):
    data = make_csv(make_row(), make_row(slug="", given_name="Jonas", family_name="Brandt"))
    import_specialists(data)
    modified = dict(Specialist.objects.values_list("slug", "modified"))

    report = import_specialists(make_csv(make_row()))

    assert [r.action for r in report.results] == ["unchanged"]
    assert dict(Specialist.objects.values_list("slug", "modified")) == modified


def test_an_empty_slug_creates_a_new_specialist_with_a_generated_slug(taxonomy):
    import_specialists(make_csv(make_row(slug="", given_name="Jürgen", family_name="Weiß")))

    assert Specialist.objects.filter(slug="juergen-weiss").exists()


def test_export_then_import_is_a_round_trip(taxonomy):
    import_specialists(
        make_csv(
            make_row(),
            make_row(slug="ida-berg", given_name="Ida", latitude="50.9", longitude="11.0"),
        )
    )
    exported = io.StringIO()
    export_specialists(exported)

    report = import_specialists(exported.getvalue(), dry_run=True)

    assert report.ok
    assert {r.action for r in report.results} == {"unchanged"}
    assert exported.getvalue().splitlines()[0] == ",".join(COLUMNS)


FORMULAS = {
    "headline": '=HYPERLINK("https://evil.example","Click")',
    "given_name": "@SUM(1+1)",
    "phone": "+49 30 1234567",
    "bio_en": "-2+3 and more",
    "bio_de": "=1+1 heißt zwei",
    "family_name": "'t Hooft",  # a real name with an apostrophe: not a formula
}


def test_export_neutralises_formulas_and_the_round_trip_stays_exact(taxonomy):
    report = import_specialists(make_csv(make_row(**FORMULAS)))
    assert report.ok, report.errors
    exported = io.StringIO()
    export_specialists(exported)

    row = next(csv.DictReader(io.StringIO(exported.getvalue())))
    for column, value in FORMULAS.items():
        expected = value if column == "family_name" else "'" + value
        assert row[column] == expected, column

    specialist = Specialist.objects.get()
    assert specialist.headline == FORMULAS["headline"]
    assert specialist.given_name == "@SUM(1+1)"
    again = import_specialists(exported.getvalue(), dry_run=True)
    assert again.ok
    assert {r.action for r in again.results} == {"unchanged"}


def test_a_file_with_a_wrong_header_or_encoding_is_refused():
    with pytest.raises(CsvFormatError, match="missing columns: slug"):
        import_specialists("name,city\nA,B\n")
    with pytest.raises(CsvFormatError, match="neither UTF-8, UTF-16 nor Windows-1252"):
        import_specialists(b"slug,\x81\x8d\n")  # bytes no encoding of ours has
    with pytest.raises(CsvFormatError, match="Excel workbook but cannot be read"):
        import_specialists(b"PK\x03\x04 not really a workbook")


def test_command_exits_non_zero_and_prints_every_error(taxonomy, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(make_csv(make_row(country="XX"), make_row(slug="two", new_patients="?")))
    errors = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_directory", str(path), stderr=errors, stdout=io.StringIO())

    assert "row 2: error: country must be" in errors.getvalue()
    assert "row 3: error: new_patients must be" in errors.getvalue()
    assert not Specialist.objects.exists()


def test_command_dry_run_lists_rows_and_changes_nothing(taxonomy, tmp_path):
    path = tmp_path / "good.csv"
    path.write_text(make_csv(make_row()))
    output = io.StringIO()

    call_command("import_directory", str(path), "--dry-run", stdout=output)

    assert "row 2: create mara-lindqvist" in output.getvalue()
    assert not Specialist.objects.exists()
    assert not Clinic.objects.filter(needs_review=True).exists()


def test_export_command_writes_the_format_to_a_file(taxonomy, tmp_path):
    import_specialists(make_csv(make_row()))
    path = tmp_path / "out.csv"

    call_command("export_directory", str(path))

    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert rows[0]["slug"] == "mara-lindqvist"
    assert rows[0]["clinic"] == "klinikum-nord"


def test_the_position_in_german_is_imported_exported_and_may_be_left_out(taxonomy):
    import_specialists(make_csv(make_row(headline_de="Oberärztin")))
    specialist = Specialist.objects.get(slug="mara-lindqvist")
    assert (specialist.headline_en, specialist.headline_de) == ("Senior consultant", "Oberärztin")

    output = io.StringIO()
    export_specialists(output)
    [row] = csv.DictReader(io.StringIO(output.getvalue()))
    assert (row["headline"], row["headline_de"]) == ("Senior consultant", "Oberärztin")

    # A file in the format as first published, without the column, leaves the German alone.
    older = [column for column in COLUMNS if column != "headline_de"]
    data = io.StringIO()
    writer = csv.DictWriter(data, fieldnames=older, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerow(make_row(headline="Head of department"))
    report = import_specialists(data.getvalue())
    assert report.ok, report.errors
    specialist.refresh_from_db()
    assert (specialist.headline_en, specialist.headline_de) == ("Head of department", "Oberärztin")


def test_position_and_biography_in_french_and_italian_are_imported_exported_and_may_be_left_out(
    taxonomy,
):
    french_and_italian = {
        "headline_fr": "Médecin-cheffe",
        "headline_it": "Primaria",
        "bio_fr": "Elle dirige le service depuis 2019.",
        "bio_it": "Dirige il servizio dal 2019.",
    }
    import_specialists(make_csv(make_row(**french_and_italian)))
    specialist = Specialist.objects.get(slug="mara-lindqvist")
    stored = ("headline_fr", "headline_it", "biography_fr", "biography_it")
    assert [getattr(specialist, field) for field in stored] == list(french_and_italian.values())

    output = io.StringIO()
    export_specialists(output)
    header = output.getvalue().splitlines()[0].split(",")
    assert header[-4:] == ["headline_fr", "headline_it", "bio_fr", "bio_it"]
    [row] = csv.DictReader(io.StringIO(output.getvalue()))
    assert {column: row[column] for column in french_and_italian} == french_and_italian

    # A file of the format before French and Italian leaves those texts alone.
    older = [column for column in COLUMNS if column not in french_and_italian]
    data = io.StringIO()
    writer = csv.DictWriter(data, fieldnames=older, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerow(make_row(bio_en="Head of the department since 2019."))
    report = import_specialists(data.getvalue())
    assert report.ok, report.errors
    specialist.refresh_from_db()
    assert specialist.biography_en == "Head of the department since 2019."
    assert [getattr(specialist, field) for field in stored] == list(french_and_italian.values())


def test_fields_and_conditions_are_found_by_their_french_and_italian_names(taxonomy):
    Specialty.objects.filter(slug="visceral-surgery").update(
        name_fr="Chirurgie viscérale", name_it="Chirurgia viscerale"
    )
    Condition.objects.filter(slug="liver-metastases").update(
        name_fr="Métastases hépatiques", synonyms_it="metastasi al fegato"
    )
    row = make_row(specialties="Chirurgia viscerale", conditions="metastases hepatiques")
    report = import_specialists(make_csv(row))
    assert report.ok, report.errors
    specialist = Specialist.objects.get(slug="mara-lindqvist")
    assert [s.slug for s in specialist.specialties.all()] == ["visceral-surgery"]
    report = import_specialists(make_csv(make_row(conditions="Metastasi al fegato")))
    assert report.ok, report.errors
    assert [c.slug for c in specialist.conditions.all()] == ["liver-metastases"]


def _flip_new_patients(count: int) -> str:
    """The export of the first `count` listings with "new_patients" flipped in each row."""
    exported = io.StringIO()
    slugs = Specialist.objects.order_by("slug").values_list("slug", flat=True)[:count]
    export_specialists(exported, Specialist.objects.filter(slug__in=list(slugs)))
    rows = list(csv.DictReader(io.StringIO(exported.getvalue())))
    for row in rows:
        row["new_patients"] = "no" if row["new_patients"] == "yes" else "yes"
    return make_csv(*rows)


def test_an_update_of_many_rows_writes_in_bulk_and_the_search_sees_every_change(
    taxonomy, django_assert_max_num_queries
):
    from appointments.models import RecipientChange
    from directory.models import SpecialistSearch

    import_specialists(
        make_csv(
            *(
                make_row(slug=f"person-{n:02}", given_name=f"P{n}", email=f"p{n}@praxis.example")
                for n in range(40)
            )
        )
    )
    proposals = RecipientChange.objects.count()

    small = import_specialists(_flip_new_patients(4))
    assert small.ok
    # Ten times the rows cost no more queries than a few rows more: nothing runs per row.
    with django_assert_max_num_queries(60) as queries:
        large = import_specialists(_flip_new_patients(40))
    assert large.ok
    assert large.applied
    assert {r.action for r in large.results} == {"update"}
    assert {tuple(r.changes) for r in large.results} == {("new_patients",)}
    assert len(queries) < 60

    flipped = {f"person-{n:02}": n >= 4 for n in range(40)}  # the first four were flipped twice
    stored = dict(Specialist.objects.values_list("slug", "accepts_new_patients"))
    assert stored == {slug: not new for slug, new in flipped.items()}
    indexed = dict(SpecialistSearch.objects.values_list("specialist__slug", "accepts_new_patients"))
    assert indexed == stored
    # An unchanged address proposes nothing new for appointment requests.
    assert RecipientChange.objects.count() == proposals


def test_a_bulk_update_proposes_no_address_it_did_not_change(taxonomy, monkeypatch):
    from appointments import recipients

    import_specialists(make_csv(make_row(email="same@praxis.example")))
    proposed = []
    monkeypatch.setattr(recipients, "propose", lambda *args, **kwargs: proposed.append(args))

    import_specialists(make_csv(make_row(email="same@praxis.example", new_patients="no")))

    assert proposed == []
    assert not Specialist.objects.get().accepts_new_patients


def test_a_row_that_only_gives_conditions_is_searchable_by_them_and_marked_modified(taxonomy):
    from directory.models import SpecialistSearch

    import_specialists(make_csv(make_row(conditions="")))
    before = Specialist.objects.get().modified

    report = import_specialists(make_csv(make_row()))

    assert [r.changes for r in report.results] == [["conditions"]]
    specialist = Specialist.objects.get()
    assert specialist.modified > before
    condition = Condition.objects.get(slug="liver-metastases")
    assert SpecialistSearch.objects.get(specialist=specialist).condition_ids == [condition.pk]


def test_a_bulk_update_still_proposes_a_changed_address(taxonomy):
    from appointments.models import RecipientChange

    import_specialists(make_csv(make_row(email="old@praxis.example")))
    import_specialists(make_csv(make_row(email="new@praxis.example", new_patients="no")))

    specialist = Specialist.objects.get()
    assert specialist.email == "new@praxis.example"
    assert not specialist.accepts_new_patients
    assert RecipientChange.objects.of(specialist).filter(email="new@praxis.example").exists()
