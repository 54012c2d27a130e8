"""The directory's files as spreadsheet programs write and read them: CSV in the encodings and
with the separators Excel and LibreOffice use, and XLSX (openpyxl).

Reading gives a `Table`: the header and the rows as lists of text, and what the file was (shown
in the import's preview). Writing takes rows of text, the header first. What a spreadsheet would
take for a formula is guarded by the caller (directory.csv_format.guard_formula) in both
formats.
"""

import codecs
import csv
import io
import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO

from django.utils.translation import gettext_lazy as _

XLSX_MAGIC = b"PK\x03\x04"  # an XLSX workbook is a ZIP archive
# A character of two to four bytes as UTF-8 writes it.
UTF8_SEQUENCE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
DELIMITERS = {",": _("comma-separated"), ";": _("semicolon-separated"), "\t": _("tab-separated")}
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SpreadsheetError(Exception):
    """The file cannot be read as a table at all (encoding, format)."""


@dataclass
class Table:
    header: list[str]
    rows: Iterator[list[str]]
    kind: str  # "CSV" or "XLSX"
    encoding: str = ""  # CSV: "UTF-8", "UTF-8 with BOM", "UTF-16", "Windows-1252"
    delimiter: str = ""  # CSV: "," ";" or tab

    @property
    def description(self) -> str:
        """What the file was, for the preview: "CSV, semicolon-separated, Windows-1252" (in the
        language of the request or command)."""
        if self.kind == "XLSX":
            return str(_("XLSX workbook (first sheet)"))
        return f"CSV, {DELIMITERS[self.delimiter]}, {self.encoding}"

    def line_number(self) -> int:
        """The line the reader is at (CSV), for an error message; 0 when unknown."""
        return getattr(self.rows, "line_num", 0)


def read_table(data: bytes | str | BinaryIO, known_columns: Iterable[str] = ()) -> Table:
    """The file as a table. Raises SpreadsheetError. `data` is the file's bytes or text, or a
    binary file open for reading, which is read as the rows are taken (a file of any size is
    read in constant memory) and from its beginning at each call (a second pass calls again).
    `known_columns` picks the CSV separator: the one that splits the header into most of them."""
    if isinstance(data, str):
        if "\x00" in data:
            raise SpreadsheetError(NUL_MESSAGE)
        return _read_csv(io.StringIO(data, newline=""), "UTF-8", known_columns)
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    stream.seek(0)
    magic = stream.read(len(XLSX_MAGIC))
    stream.seek(0)
    if magic == XLSX_MAGIC:
        return _read_xlsx(stream)
    codec, encoding = detect_encoding(stream)
    return _read_csv(_text_lines(stream, codec), encoding, known_columns)


NUL_MESSAGE = _("The file contains NUL bytes; it is not a CSV text file.")
CHUNK_BYTES = 1 << 16  # how much of a file is read at a time


def _read_csv(lines: Iterable[str], encoding: str, known_columns: Iterable[str]) -> Table:
    lines = iter(lines)
    first = next(lines, "")
    delimiter = sniff_delimiter(first, set(known_columns))
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
    try:
        header = next(reader, [])
    except csv.Error as error:
        message = _("The header row cannot be read (%(error)s).") % {"error": error}
        raise SpreadsheetError(message) from None
    return Table(header, reader, "CSV", encoding, delimiter)


def _text_lines(stream: BinaryIO, codec: str) -> Iterator[str]:
    """The lines of a binary file (ends kept, as a file opened with newline="" gives them),
    read a chunk at a time. The file stays open for the caller."""
    text = io.TextIOWrapper(stream, encoding=codec, newline="")
    try:
        yield from text
    finally:
        if not stream.closed:
            text.detach()  # leave the caller's file open


def detect_encoding(stream: BinaryIO) -> tuple[str, str]:
    """The codec of a CSV file and its name, from reading all of it once a chunk at a time:
    UTF-8 (with or without the byte order mark Excel writes), UTF-16 (Excel's "Unicode text",
    with its byte order mark, or without one when every other byte of the start is zero), else
    Windows-1252 (Excel's "CSV" on Windows in Western Europe). Leaves the file at its start.
    Raises SpreadsheetError for a file in none of them, or with NUL characters."""
    start = stream.read(200)
    stream.seek(0)
    if start.startswith(b"\xef\xbb\xbf"):
        return _check(stream, "utf-8-sig", str(_("UTF-8 with BOM")))
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _check(stream, "utf-16", "UTF-16")
    if len(start) >= 4 and start[1::2].count(0) >= len(start) // 2 * 0.9:
        return _check(stream, "utf-16-le", "UTF-16")
    if len(start) >= 4 and start[0::2].count(0) >= len(start) // 2 * 0.9:
        return _check(stream, "utf-16-be", "UTF-16")
    if _decodes(stream, "utf-8"):
        return "utf-8", "UTF-8"
    if _has_utf8_sequence(stream):
        # UTF-8 with a stray byte of another encoding: read as Windows-1252, every umlaut
        # written in UTF-8 would become two wrong letters ("MÃ¼ller").
        raise SpreadsheetError(
            _(
                "The file is mostly UTF-8 but has bytes that are not. Save it from your "
                "spreadsheet program as “CSV UTF-8” or as an Excel workbook (.xlsx)."
            )
        )
    if _decodes(stream, "cp1252"):
        return "cp1252", "Windows-1252"
    raise SpreadsheetError(
        _(
            "The file is neither UTF-8, UTF-16 nor Windows-1252 text. Save it from your "
            "spreadsheet program as “CSV UTF-8” or as an Excel workbook (.xlsx)."
        )
    )


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    stream.seek(0)
    try:
        while chunk := stream.read(CHUNK_BYTES):
            yield chunk
    finally:
        stream.seek(0)


def _decodes(stream: BinaryIO, codec: str) -> bool:
    """Whether all of the file is text in `codec`; raises SpreadsheetError for NUL characters."""
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        for chunk in _chunks(stream):
            if "\x00" in decoder.decode(chunk):
                raise SpreadsheetError(NUL_MESSAGE)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _check(stream: BinaryIO, codec: str, name: str) -> tuple[str, str]:
    if not _decodes(stream, codec):
        raise SpreadsheetError(
            _("The file starts as %(encoding)s but is not %(encoding)s text.") % {"encoding": name}
        )
    return codec, name


def _has_utf8_sequence(stream: BinaryIO) -> bool:
    tail = b""
    for chunk in _chunks(stream):
        if UTF8_SEQUENCE.search(tail + chunk):
            return True
        tail = chunk[-1:]  # a sequence may straddle two chunks
    return False


def sniff_delimiter(first: str, known_columns: set[str]) -> str:
    """Comma, semicolon or tab: the one that splits the first line into the most known column
    names (else into the most cells); a comma when nothing tells."""
    first = next(iter(first.splitlines()), "")

    def score(delimiter: str) -> tuple[int, int]:
        try:
            cells = next(csv.reader([first], delimiter=delimiter), [])
        except csv.Error:
            return (0, 0)
        names = {cell.strip() for cell in cells}
        return (len(names & known_columns), len(cells))

    best = max(DELIMITERS, key=score)
    return best if score(best) > score(",") else ","


def _read_xlsx(stream: BinaryIO) -> Table:
    from openpyxl import load_workbook

    try:
        # read_only streams the sheet; data_only gives a formula's last value, never the formula.
        workbook = load_workbook(stream, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # the size a file states may be wrong: read every cell
        rows = sheet.iter_rows(values_only=True)
        header = [_cell(value) for value in next(rows, ())]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError) as error:
        raise SpreadsheetError(
            _("The file looks like an Excel workbook but cannot be read (%(error)s).")
            % {"error": type(error).__name__}
        ) from None
    while header and header[-1] == "":
        header.pop()  # cells styled but empty right of the table

    def body() -> Iterator[list[str]]:
        try:
            for values in rows:
                cells = [_cell(value) for value in values]
                if any(cells):  # rows left empty below or inside the table
                    yield cells[: len(header)] + [c for c in cells[len(header) :] if c]
        finally:
            workbook.close()

    return Table(header, body(), "XLSX")


def _cell(value) -> str:
    """A cell's value as the text the CSV would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def write_csv(output, rows: Iterable[list[str]]) -> int:
    """Write rows (the header first) as UTF-8 CSV to a text stream; returns the data rows."""
    writer = csv.writer(output, lineterminator="\n")
    count = -1
    for count, row in enumerate(rows):  # noqa: B007 - the count is the result
        writer.writerow(row)
    return max(count, 0)


def write_xlsx(output, rows: Iterable[list[str]], title: str = "Specialists") -> int:
    """Write rows (the header first) as an XLSX workbook to a binary stream, every cell as text
    (a postcode keeps its leading zero, nothing becomes a number or a date); returns the data
    rows. Streams: memory stays small however many rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"  # the header stays in view
    count = -1
    for count, row in enumerate(rows):
        if count == 0:
            cells = []
            for name in row:
                cell = WriteOnlyCell(sheet, value=name)
                cell.font = Font(bold=True)
                cells.append(cell)
            sheet.append(cells)
        else:
            cells = []
            for value in row:
                # Control characters (pasted into a text) have no place in a workbook.
                cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
                cell.data_type = "s"  # text, even where it looks like a number or a formula
                cells.append(cell)
            sheet.append(cells)
    workbook.save(output)
    return max(count, 0)
