"""Statement files in, rows of cells out: CSV in the encodings banks really use, and
XLSX read safely (archive checked before opening, read-only, cached values only).

Pure: no Django. Errors are core.exceptions.InvalidInput naming `file`.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.exceptions import InvalidInput

DELIMITERS = [",", ";", "\t", "|"]
XLSX_MAX_RATIO = 100  # uncompressed / compressed, per member
XLSX_RATIO_FROM_BYTES = 4096  # a smaller part cannot inflate to harm
XLSX_MAX_MEMBERS = 500
XLSX_MAX_TOTAL_FACTOR = 25  # total uncompressed size vs. the upload limit
HEAD_ROWS = 100  # read before parsing starts: enough to find the header row

Cell = str | Decimal | int | dt.datetime | dt.date | None


@dataclass(frozen=True)
class Table:
    """Rows as read; `rows[i]` is line `first_line + i` of the file (1-based).
    A CSV's `rows` are its first HEAD_ROWS rows and `more` reads the rest as it is
    iterated (once), so parsing can start before the whole file is split."""

    rows: list[list[Cell]]
    first_line: int = 1
    kind: str = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","
    notes: list[str] = field(default_factory=list)
    more: Iterator[list[Cell]] = field(default_factory=lambda: iter(()))


MACRO_EXTENSIONS = (".xlsm", ".xltm", ".xlam", ".xlsb")
# content types of a part that runs code (VBA, Excel 4 macro sheets, ActiveX)
MACRO_CONTENT_TYPES = (
    "macroenabled",
    "vbaproject",
    "ms-excel.macrosheet",
    "ms-excel.intlmacrosheet",
    "ms-office.activex",
)


def is_xlsx(file_bytes: bytes, filename: str = "") -> bool:
    return file_bytes[:4] == b"PK\x03\x04" or filename.lower().endswith(
        (".xlsx", *MACRO_EXTENSIONS)
    )


def upload_check(file_bytes: bytes, filename: str = "", *, max_bytes: int) -> None:
    """What is refused before an upload is kept at all: a macro workbook, or a
    workbook whose archive would not be opened (see check_xlsx_archive)."""
    if filename.lower().endswith(MACRO_EXTENSIONS):
        raise InvalidInput(
            "file: macro-enabled and binary workbooks (.xlsm, .xlsb) are refused: "
            "save the statement as .xlsx or CSV",
            field="file",
        )
    if is_xlsx(file_bytes, filename):
        check_xlsx_archive(file_bytes, max_bytes=max_bytes)


def read_table(
    file_bytes: bytes,
    filename: str = "",
    *,
    max_rows: int,
    max_bytes: int,
    encodings: Iterable[str] = ("utf-8",),
) -> Table:
    """Read a CSV or XLSX file into rows; refuse what cannot be read faithfully."""
    if len(file_bytes) > max_bytes:
        raise InvalidInput(
            f"file: {len(file_bytes) / 1_048_576:.1f} MB is over the "
            f"{max_bytes // 1_048_576} MB limit",
            field="file",
        )
    if not file_bytes or file_bytes.isspace():  # (isspace stops at the first text)
        raise InvalidInput("file: the file is empty", field="file")
    if is_xlsx(file_bytes, filename):
        return read_xlsx(file_bytes, max_rows=max_rows, max_bytes=max_bytes)
    text, encoding = decode_text(file_bytes, encodings=encodings)
    return read_csv_text(text, max_rows=max_rows, encoding=encoding)


def decode_text(file_bytes: bytes, *, encodings: Iterable[str]) -> tuple[str, str]:
    """Text of a CSV: a BOM decides; else UTF-8, else an encoding the preset names.
    Never guesses a legacy code page (that is how mojibake gets into books)."""
    if file_bytes.startswith(codecs.BOM_UTF8):
        return _strict(file_bytes[3:], "utf-8", "UTF-8 (with BOM)"), "utf-8-sig"
    if file_bytes.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(file_bytes, "utf-16", "UTF-16"), "utf-16"
    sample = file_bytes[:4000]
    if sample and sample.count(b"\x00") > len(sample) // 4:
        # UTF-16 without a BOM: every other byte of ASCII text is NUL
        little = sample[1::2].count(b"\x00") > sample[::2].count(b"\x00")
        codec = "utf-16-le" if little else "utf-16-be"
        return _strict(file_bytes, codec, "UTF-16"), codec
    # a NUL byte is a NUL character in UTF-8 and in every ASCII-based code page
    if b"\x00" in file_bytes:
        raise InvalidInput(
            "file: contains NUL bytes; this is not a text CSV export", field="file"
        )
    try:
        text = file_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        for encoding in encodings:
            if encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-16"):
                continue
            try:
                return file_bytes.decode(encoding), encoding
            except UnicodeDecodeError:
                continue
        raise InvalidInput(
            f"file: this is not UTF-8 text (byte 0x{file_bytes[exc.start]:02X} at "
            f"position {exc.start} cannot be read). Export the statement again as "
            "'CSV UTF-8' (or XLSX) so Khmer and Thai text stay intact.",
            field="file",
        ) from None
    return text, "utf-8"


def _strict(data: bytes, codec: str, label: str) -> str:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"file: declares {label} but byte {exc.start} is not valid {label}",
            field="file",
        ) from None
    return text.lstrip("\ufeff")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first non-empty line into the most fields."""
    # the head of the text is enough (splitting a whole 15 MB file is not free)
    first = next((line for line in text[:65536].splitlines() if line.strip()), "")
    counts = {d: _count_outside_quotes(first, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _count_outside_quotes(line: str, delimiter: str) -> int:
    inside, count = False, 0
    for char in line:
        if char == '"':
            inside = not inside
        elif char == delimiter and not inside:
            count += 1
    return count


def read_csv_text(text: str, *, max_rows: int, encoding: str = "utf-8") -> Table:
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    allowed = max_rows + 1  # and the header row
    rows = list(_csv_rows(reader, allowed=allowed, max_rows=max_rows, stop=HEAD_ROWS))
    more = _csv_rows(reader, allowed=allowed - len(rows), max_rows=max_rows)
    return Table(
        rows=rows, kind="csv", encoding=encoding, delimiter=delimiter, more=more
    )


def _csv_rows(
    reader: Any, *, allowed: int, max_rows: int, stop: int | None = None
) -> Iterator[list[Cell]]:
    """Rows from `reader`, at most `stop` of them; more than `allowed` refuses the
    file, and so does text that is not CSV."""
    count = 0
    try:
        for row in reader:
            count += 1
            if count > allowed:
                raise _too_many(max_rows)
            yield row
            if count == stop:
                return
    except csv.Error as exc:
        raise InvalidInput(
            f"file: line {reader.line_num} is not valid CSV ({exc})", field="file"
        ) from None


def _too_many(max_rows: int) -> InvalidInput:
    return InvalidInput(
        f"file: more than {max_rows:,} rows; split the statement into smaller files",
        field="file",
    )


def check_xlsx_archive(file_bytes: bytes, *, max_bytes: int) -> None:
    """Refuse a zip bomb before any XML is parsed (too many members, any member
    that inflates more than XLSX_MAX_RATIO times, or too much in total) and a
    workbook that carries macros (a VBA part, or a part whose content type runs
    code); the content types are read with defusedxml."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(file_bytes))
    except zipfile.BadZipFile:
        raise InvalidInput(
            "file: looks like XLSX but is not a valid Excel file", field="file"
        ) from None
    with archive:
        members = archive.infolist()
        if len(members) > XLSX_MAX_MEMBERS:
            raise InvalidInput(
                f"file: the workbook has {len(members)} parts; refusing it",
                field="file",
            )
        total = 0
        for info in members:
            total += info.file_size
            # every part, however small: a small part that inflates a thousand
            # times is no spreadsheet Excel or a bank writes
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > XLSX_RATIO_FROM_BYTES and ratio > XLSX_MAX_RATIO:
                raise InvalidInput(
                    f"file: part {info.filename!r} expands {ratio:,.0f} times "
                    "(a zip bomb?); refusing it",
                    field="file",
                )
            if info.filename.lower().rsplit("/", 1)[-1] == "vbaproject.bin":
                raise _macros()
        if total > max_bytes * XLSX_MAX_TOTAL_FACTOR:
            raise InvalidInput(
                f"file: the workbook expands to {total / 1_048_576:,.0f} MB; "
                "refusing it",
                field="file",
            )
        names = {info.filename for info in members}
        if "[Content_Types].xml" not in names:
            raise InvalidInput("file: not an Excel workbook (.xlsx)", field="file")
        for declared in _content_types(archive):
            if any(word in declared for word in MACRO_CONTENT_TYPES):
                raise _macros()


# What reading one damaged member of a zip raises (a bad CRC or header, a broken
# deflate stream, a cut-off member, a method or an encryption zipfile cannot read).
ZIP_MEMBER_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
)


def _macros() -> InvalidInput:
    return InvalidInput(
        "file: the workbook carries macros (VBA or a macro sheet): refused; save "
        "the statement as .xlsx without macros, or as CSV",
        field="file",
    )


def _content_types(archive: zipfile.ZipFile) -> Iterator[str]:
    """Every content type the workbook declares, in lower case, read with
    defusedxml: entity tricks (billion laughs, external entities) are refused."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(archive.read("[Content_Types].xml"))
    except ZIP_MEMBER_ERRORS:
        raise InvalidInput(
            "file: looks like XLSX but is not a valid Excel file", field="file"
        ) from None
    except (DefusedXmlException, ElementTree.ParseError):
        raise InvalidInput(
            "file: the workbook's content types cannot be read safely; refusing it",
            field="file",
        ) from None
    for element in root.iter():
        yield element.get("ContentType", "").lower()


def read_xlsx(file_bytes: bytes, *, max_rows: int, max_bytes: int) -> Table:
    """First sheet's cells. read_only + data_only: formulas are never evaluated; a
    formula cell gives the value Excel saved, or nothing."""
    import openpyxl

    check_xlsx_archive(file_bytes, max_bytes=max_bytes)
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(file_bytes), read_only=True, data_only=True, keep_links=False
        )
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise InvalidInput(
            f"file: the Excel workbook cannot be read ({type(exc).__name__})",
            field="file",
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows: list[list[Cell]] = []
        # read_only: the sheet's part is inflated and parsed only now, so a
        # damaged part fails here, not in load_workbook
        for values in sheet.iter_rows(values_only=True):
            rows.append([_xlsx_cell(v) for v in values])
            if len(rows) > max_rows + 1:
                raise _too_many(max_rows)
    except InvalidInput:
        raise
    except Exception as exc:  # as above: openpyxl's many kinds, and zipfile's
        raise InvalidInput(
            f"file: the Excel workbook cannot be read ({type(exc).__name__})",
            field="file",
        ) from None
    finally:
        workbook.close()
    while rows and not any(c not in (None, "") for c in rows[-1]):
        rows.pop()
    return Table(rows=rows, kind="xlsx", encoding="xlsx", delimiter="")


def _xlsx_cell(value: Any) -> Cell:
    if value is None or isinstance(value, (str, dt.datetime, dt.date)):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        # Excel stores numbers as binary doubles; the shortest repr is the number
        # the user typed (12.5, not 12.4999...). Converted once, here, to Decimal.
        return Decimal(repr(value))
    if isinstance(value, dt.time):
        return value.isoformat()
    return str(value)
