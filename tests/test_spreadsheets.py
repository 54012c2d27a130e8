"""The import and export as editors use them: CSV as German Excel writes it (semicolons,
Windows-1252), UTF-16 with tabs, UTF-8 with a byte order mark, and XLSX; each read, stated in the
preview, and a round trip in every format. Clinics an import creates start as drafts of the kind
their name says."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from directory.csv_format import (
    COLUMNS,
    CsvFormatError,
    clinic_kind,
    export_specialists,
    import_specialists,
)
from directory.models import Clinic, Specialist
from tests.factories import UserFactory
from tests.test_import_export import FORMULAS, make_row, taxonomy  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """What the file was read as is said in the language of the request or command."""
    from django.utils import translation

    with translation.override("en"):
        yield


# Names only Windows-1252 and Unicode hold, beside the ASCII of the rest.
ROWS = [
    make_row(given_name="Jürgen", family_name="Weiß", bio_de="Fußchirurgie; Öffnungszeiten"),
    make_row(
        slug="ida-berg", given_name="Ida", family_name="Berg", latitude="50.9", longitude="11"
    ),
]


def table(rows: list[dict], delimiter: str = ",") -> str:
    output = io.StringIO()
    writer = csv.DictWriter(output, fieldnames=COLUMNS, delimiter=delimiter, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return output.getvalue()


def workbook(rows: list[dict]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append([row[column] for column in COLUMNS])
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


FILES = {
    "German Excel": (table(ROWS, ";").encode("cp1252"), "CSV, semicolon-separated, Windows-1252"),
    "Excel CSV UTF-8": (
        b"\xef\xbb\xbf" + table(ROWS).encode(),
        "CSV, comma-separated, UTF-8 with BOM",
    ),
    "Unicode text": (table(ROWS, "\t").encode("utf-16"), "CSV, tab-separated, UTF-16"),
    "UTF-16 without BOM": (table(ROWS, "\t").encode("utf-16-le"), "CSV, tab-separated, UTF-16"),
    "plain UTF-8": (table(ROWS).encode(), "CSV, comma-separated, UTF-8"),
    "XLSX": (workbook(ROWS), "XLSX workbook (first sheet)"),
}


@pytest.mark.parametrize("name", FILES)
def test_each_kind_of_file_is_read_and_says_what_it_was(taxonomy, name):  # noqa: F811
    data, source = FILES[name]

    report = import_specialists(data)

    assert report.ok, report.errors
    assert report.source == source
    jurgen = Specialist.objects.get(slug="mara-lindqvist")
    assert (jurgen.given_name, jurgen.family_name) == ("Jürgen", "Weiß")
    assert jurgen.biography_de == "Fußchirurgie; Öffnungszeiten"  # a separator inside a cell
    assert jurgen.languages == ["de", "en"]  # ";" inside a cell of a ";" file, quoted
    assert Specialist.objects.get(slug="ida-berg").affiliations.get().location.longitude == 11


@pytest.mark.parametrize("xlsx", [False, True], ids=["csv", "xlsx"])
def test_export_then_import_changes_nothing_in_either_format(taxonomy, xlsx):  # noqa: F811
    assert import_specialists(table([*ROWS, make_row(slug="f", **FORMULAS)])).ok
    output = io.BytesIO() if xlsx else io.StringIO()

    assert export_specialists(output, xlsx=xlsx) == 3

    data = output.getvalue()
    again = import_specialists(data if xlsx else data.encode(), dry_run=True)
    assert again.ok, again.errors
    assert {result.action for result in again.results} == {"unchanged"}


def test_the_workbook_holds_text_and_no_formula(taxonomy):  # noqa: F811
    import_specialists(table([make_row(postcode="01067", city="Dresden", **FORMULAS)]))
    output = io.BytesIO()
    export_specialists(output, xlsx=True)

    sheet = load_workbook(io.BytesIO(output.getvalue())).active
    header = [cell.value for cell in sheet[1]]
    row = dict(zip(header, (cell for cell in sheet[2]), strict=True))
    assert header == COLUMNS
    assert row["postcode"].value == "01067"  # text: the zero stays
    for column, value in FORMULAS.items():
        expected = value if column == "family_name" else "'" + value
        assert row[column].value == expected, column
        assert row[column].data_type == "s", column  # never a formula


def test_a_workbook_of_numbers_and_empty_rows_is_read_as_text(taxonomy):  # noqa: F811
    book = Workbook()
    sheet = book.active
    sheet.append([*COLUMNS, None, None])  # styled cells right of the table
    row = make_row()
    row.update(postcode=99084, latitude=50.97, longitude=11.0)
    sheet.append([row[column] for column in COLUMNS])
    sheet.append([None] * len(COLUMNS))  # an empty row
    output = io.BytesIO()
    book.save(output)

    report = import_specialists(output.getvalue())

    assert report.ok, report.errors
    location = Specialist.objects.get().affiliations.get().location
    assert location.postcode == "99084"
    assert location.longitude == 11.0


def test_a_header_that_does_not_match_says_how_the_file_was_read():
    data = "Vorname;Nachname\nMara;Lindqvist\n".encode("cp1252")

    with pytest.raises(CsvFormatError) as raised:
        import_specialists(data)

    message = str(raised.value)
    assert "unknown columns: 'Vorname', 'Nachname'" in message
    assert "read as CSV, semicolon-separated, UTF-8" in message


def test_a_row_longer_than_the_header_is_a_row_error(taxonomy):  # noqa: F811
    header, first, rest = table(ROWS, ";").split("\r\n", 2)
    data = f"{header}\r\n{first};extra\r\n{rest}"

    report = import_specialists(data.encode("cp1252"), dry_run=True)

    assert report.errors == [(2, "the row has more cells than the header")]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Praxis Dr. Weiß", "practice"),
        ("Gemeinschaftspraxis am Markt", "practice"),
        ("Ordination Dr. Huber", "practice"),
        ("Klinikum Süd", "hospital"),
        ("Kantonsspital Aarau", "hospital"),
        ("St. Elisabeth Krankenhaus", "hospital"),
        ("Herzzentrum Leipzig", "centre"),
        ("MVZ Mitte", "centre"),
        ("Cancer Centre Basel", "centre"),
    ],
)
def test_a_clinic_an_import_creates_is_a_draft_of_the_kind_its_name_says(
    taxonomy,  # noqa: F811
    name,
    kind,
):
    assert clinic_kind(name) == kind
    report = import_specialists(table([make_row(clinic=name)]), create_taxonomy=True)

    assert report.ok, report.errors
    clinic = Clinic.objects.get(name=name)
    assert clinic.kind == kind
    assert clinic.status == "draft"
    assert clinic.needs_review


def test_the_command_reads_a_workbook_and_shows_its_progress(taxonomy, tmp_path, monkeypatch):  # noqa: F811
    import directory.csv_format

    monkeypatch.setattr(directory.csv_format, "PROGRESS_EVERY", 1)
    path = tmp_path / "specialists.xlsx"
    path.write_bytes(workbook(ROWS))
    out, err = io.StringIO(), io.StringIO()

    call_command("import_directory", str(path), stdout=out, stderr=err)

    assert "read as XLSX workbook (first sheet)" in out.getvalue()
    assert "checked 1 of 2 rows" in err.getvalue()
    assert "written 1 of 2 rows" in err.getvalue()
    assert Specialist.objects.count() == 2


def test_the_export_command_writes_a_workbook(taxonomy, tmp_path):  # noqa: F811
    import_specialists(table(ROWS))
    path = tmp_path / "out.xlsx"

    call_command("export_directory", str(path), stderr=io.StringIO())

    sheet = load_workbook(path).active
    assert sheet.max_row == 3
    with pytest.raises(CommandError, match="needs a file name"):
        call_command("export_directory", "--format", "xlsx")


def test_the_admin_exports_a_workbook_and_previews_a_german_excel_file(taxonomy, client):  # noqa: F811
    import_specialists(table(ROWS))
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.get("/admin/directory/specialist/export/?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert ".xlsx" in response["Content-Disposition"]
    assert load_workbook(io.BytesIO(response.content)).active.max_row == 3

    upload = io.BytesIO(FILES["German Excel"][0])
    upload.name = "aerzte.csv"
    preview = client.post("/admin/directory/specialist/import/", {"file": upload})
    assert preview.status_code == 200
    assert "CSV, semicolon-separated, Windows-1252" in preview.text


def test_a_mostly_utf8_file_with_a_stray_byte_is_refused_rather_than_garbled(taxonomy):  # noqa: F811
    data = table(ROWS).encode() + "Zoë\n".encode("cp1252")

    with pytest.raises(CsvFormatError, match="mostly UTF-8"):
        import_specialists(data)


def test_a_workbook_that_misstates_its_size_is_read_in_full(taxonomy):  # noqa: F811
    import re
    import zipfile

    data = workbook(ROWS)
    source, output = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(output, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B2"', content)
            target.writestr(item, content)

    report = import_specialists(output.getvalue(), dry_run=True)

    assert report.ok, report.errors
    assert len(report.results) == 2


def test_control_characters_do_not_break_the_workbook(taxonomy):  # noqa: F811
    import_specialists(table([make_row(bio_en="Line one\x0bline two\x0c")]))
    output = io.BytesIO()

    export_specialists(output, xlsx=True)

    row = list(load_workbook(io.BytesIO(output.getvalue())).active.values)[1]
    assert "Line oneline two" in row


def test_trailing_separators_old_line_ends_and_blank_lines_keep_row_numbers(taxonomy):  # noqa: F811
    lines = table([make_row(), make_row(slug="ida-berg", country="XX")], ";").split("\r\n")
    lines[0] += ";"  # a trailing separator after the header
    data = "\r".join([lines[0], "", lines[1], ";;;", lines[2]])  # old Mac line ends

    report = import_specialists(data.encode("cp1252"), dry_run=True)

    assert report.source == "CSV, semicolon-separated, UTF-8"
    assert report.errors == [(5, "country must be DE, AT or CH, not 'XX'")]  # its row in the file


def _listings(count: int) -> None:
    """`count` published listings at one practice, made in bulk (as fast as the test can)."""
    from directory.models import Affiliation, Condition, SpecialistCondition, Specialty
    from tests.factories import LocationFactory

    location = LocationFactory(
        clinic=Clinic.objects.get(slug="klinikum-nord"), street="Nordallee 5"
    )
    specialists = Specialist.objects.bulk_create(
        Specialist(
            slug=f"listing-{n:05}",
            given_name="Ada",
            family_name=f"Example{n}",
            headline_en="Senior consultant",
            languages=["de", "en"],
            insurance=["statutory"],
            accepts_new_patients=True,
            status="published",
        )
        for n in range(count)
    )
    field = Specialty.objects.get(slug="visceral-surgery")
    condition = Condition.objects.get(slug="liver-metastases")
    Specialist.specialties.through.objects.bulk_create(
        Specialist.specialties.through(specialist=s, specialty=field) for s in specialists
    )
    SpecialistCondition.objects.bulk_create(
        SpecialistCondition(specialist=s, condition=condition, position=0) for s in specialists
    )
    Affiliation.objects.bulk_create(
        Affiliation(specialist=s, clinic=location.clinic, location=location, is_primary=True)
        for s in specialists
    )


def _peak_of_import(path) -> int:
    """The most memory (bytes, as Python allocates it) the import command took at once."""
    import gc
    import os
    import tracemalloc

    gc.collect()
    with open(os.devnull, "w") as sink:
        tracemalloc.start()
        try:
            call_command("import_directory", str(path), stdout=sink, stderr=sink)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_a_file_of_ten_thousand_rows_imports_in_the_memory_of_a_hundred(taxonomy, tmp_path):  # noqa: F811
    """The command streams: the file is read as it goes, a chunk of rows at a time, its slugs
    are kept in the database, and each row's result is written out rather than kept, so a long
    file takes the memory of a short one."""
    rows = 10_000
    _listings(rows)
    exported = io.StringIO()
    export_specialists(exported, Specialist.objects.order_by("slug"))
    lines = list(csv.reader(io.StringIO(exported.getvalue())))
    column = lines[0].index("new_patients")
    for line in lines[1:]:
        line[column] = "no"
    for name, count in (("short.csv", 100), ("long.csv", rows)):
        with open(tmp_path / name, "w", newline="", encoding="utf-8") as file:
            csv.writer(file, lineterminator="\n").writerows(lines[: count + 1])
    del exported, lines

    short = _peak_of_import(tmp_path / "short.csv")
    long = _peak_of_import(tmp_path / "long.csv")

    assert Specialist.objects.filter(accepts_new_patients=False).count() == rows
    assert long < short * 1.2, (short, long)  # measured: 2.15 MB and 2.18 MB
