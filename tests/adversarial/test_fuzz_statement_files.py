"""Fuzzing the statement import (CSV and XLSX, through the service the import page,
the API and `import_statement` use): random bytes, mutated valid files and random
cells. Whatever comes in, the import answers with its own result or its own error
(a TonleError), never a raw exception, and a refused file leaves no line of its
batch in the ledger."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.exceptions import TonleError
from statements.models import ImportBatch, ImportStatus, Transaction
from statements.services.imports import statement_file_import
from tests.statements.ingest_files import CANONICAL_HEADER, canonical, xlsx_bytes

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
_serial = itertools.count()


def _rows(n: int = 6) -> list[dict]:
    return [
        {
            "txn_id": f"FZ{k}",
            "posted_at": f"2026-05-{k + 1:02d}T09:00:00+07:00",
            "amount": f"{k + 1}.50",
            "currency": "USD",
            "description": f"sale {k}",
        }
        for k in range(n)
    ]


VALID_CSV = canonical(_rows())
VALID_XLSX = xlsx_bytes(
    CANONICAL_HEADER, ([r.get(h, "") for h in CANONICAL_HEADER] for r in _rows())
)


def _import_and_check(account, data: bytes, filename: str) -> None:
    """The invariants every input must keep."""
    before = Transaction.objects.filter(account=account).count()
    try:
        result = statement_file_import(
            account=account, file_bytes=data, filename=filename
        )
    except TonleError:
        # the import's own refusal (e.g. the same file twice): nothing written
        assert Transaction.objects.filter(account=account).count() == before
        return
    added = Transaction.objects.filter(account=account).count() - before
    if result.errors:
        assert added == 0, result.errors
        for error in result.errors:
            assert isinstance(error["message"], str) and error["message"]
        if result.batch_id is not None:
            batch = ImportBatch.objects.get(pk=result.batch_id)
            assert batch.status == ImportStatus.FAILED
    else:
        assert added == result.inserted
        batch = ImportBatch.objects.get(pk=result.batch_id)
        assert batch.status == ImportStatus.IMPORTED
        assert batch.inserted == result.inserted
    for amount in Transaction.objects.filter(account=account).values_list(
        "amount", flat=True
    ):
        assert isinstance(amount, Decimal)


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Byte edits: (kind, position, value) — flip, insert, delete or truncate."""
    out = bytearray(data)
    for kind, position, value in edits:
        if not out:
            break
        at = position % len(out)
        if kind == 0:
            out[at] = value
        elif kind == 1:
            out.insert(at, value)
        elif kind == 2:
            del out[at]
        else:
            del out[at:]
    return bytes(out)


EDITS = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 10**6), st.integers(0, 255)),
    min_size=1,
    max_size=6,
)


@FUZZ
@given(data=st.binary(max_size=2048), xlsx=st.booleans())
def test_random_bytes_are_refused_in_the_imports_own_words(account, data, xlsx):
    name = f"random-{next(_serial)}.{'xlsx' if xlsx else 'csv'}"
    _import_and_check(account, data, name)


@FUZZ
@given(edits=EDITS)
def test_a_mutated_csv_is_imported_whole_or_refused_whole(account, edits):
    _import_and_check(account, _mutate(VALID_CSV, edits), f"m-{next(_serial)}.csv")


@FUZZ
@given(edits=EDITS)
def test_a_mutated_xlsx_is_imported_whole_or_refused_whole(account, edits):
    _import_and_check(account, _mutate(VALID_XLSX, edits), f"m-{next(_serial)}.xlsx")


# Cells as a careless or hostile export would hold them.
CELL = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+07:00",
            "9999-12-31T23:59:59+07:00",
            "1" * 40,
            "-0",
            "NaN",
            "Infinity",
            "1e400",
            '=HYPERLINK("http://x")',
            "12,5O",
            "USD",
            "KHR",
            "",
        ]
    ),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.datetimes(
        min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)
    ).map(lambda d: d.isoformat()),
)
ROW = st.fixed_dictionaries(dict.fromkeys(CANONICAL_HEADER, CELL))


def _xlsx_of(rows: list[dict]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(CANONICAL_HEADER)
    for row in rows:
        # openpyxl refuses some control characters in cells: that is its check,
        # not the import's, so such text is written without them
        sheet.append(
            [
                "".join(ch for ch in v if ch >= " ") if isinstance(v, str) else v
                for v in (row[h] for h in CANONICAL_HEADER)
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@FUZZ
@given(rows=st.lists(ROW, min_size=1, max_size=5), xlsx=st.booleans())
def test_random_cells_under_the_canonical_headers_never_escape(account, rows, xlsx):
    if xlsx:
        data, name = _xlsx_of(rows), f"cells-{next(_serial)}.xlsx"
    else:
        data, name = canonical(rows), f"cells-{next(_serial)}.csv"
    _import_and_check(account, data, name)


def _damaged_member(data: bytes, member: str) -> bytes:
    """The workbook with one byte of `member`'s compressed data changed (its
    directory entry intact): zipfile notices only when that member is read."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(member)
    out = bytearray(data)
    # the local header: 30 bytes, then the name and the extra field
    name_len = int.from_bytes(
        out[info.header_offset + 26 : info.header_offset + 28], "little"
    )
    extra_len = int.from_bytes(
        out[info.header_offset + 28 : info.header_offset + 30], "little"
    )
    start = info.header_offset + 30 + name_len + extra_len
    middle = start + info.compress_size // 2
    out[middle] ^= 0xFF
    return bytes(out)


def _workbook_of(rows: int) -> bytes:
    return xlsx_bytes(
        CANONICAL_HEADER,
        (
            [r.get(h, "") for h in CANONICAL_HEADER]
            for r in (
                {
                    "txn_id": f"BIG{k}",
                    "posted_at": "2026-05-01T09:00:00+07:00",
                    "amount": f"{k + 1}.50",
                    "currency": "USD",
                }
                for k in range(rows)
            )
        ),
    )


@pytest.mark.parametrize(
    ("member", "rows"),
    [
        # read while the archive is checked
        ("[Content_Types].xml", 6),
        # read lazily, row by row, after the workbook opened (so the damage must
        # lie past what opening it reads)
        ("xl/worksheets/sheet1.xml", 2000),
    ],
)
def test_a_workbook_with_one_damaged_part_is_refused_as_a_file_error(
    account, member, rows
):
    # given a workbook one part of which no longer inflates, fails its CRC or
    # is no longer XML (found by the fuzzing above: zipfile's BadZipFile and
    # ElementTree's ParseError escaped as a 500)
    data = _damaged_member(_workbook_of(rows), member)
    # when
    result = statement_file_import(account=account, file_bytes=data, filename="d.xlsx")
    # then it is refused in the import's words, and nothing is written
    assert result.inserted == 0
    message = result.errors[0]["message"]
    assert "not a valid Excel file" in message or "cannot be read" in message
    assert not Transaction.objects.exists()
