"""The canonical statement CSV's columns have one home (statements.canonical), and
that home says what DESIGN.md's contract says."""

from __future__ import annotations

import csv
import io

from statements.canonical import (
    CANONICAL_COLUMNS,
    CANONICAL_LEDGER_FIELDS,
    CANONICAL_REQUIRED,
)
from statements.imports import PRESETS
from statements.models import Transaction


def test_the_columns_are_the_contracts():
    # then: DESIGN.md "The canonical statement CSV", with biller_category added
    assert CANONICAL_COLUMNS == (
        "txn_id", "posted_at", "value_date", "amount", "currency", "channel",
        "counterparty", "counterparty_account", "reference", "bakong_hash",
        "description", "balance_after", "original_amount", "original_currency",
        "fx_rate", "fee", "biller_category",
    )  # fmt: skip
    assert CANONICAL_REQUIRED == ("txn_id", "posted_at", "amount", "currency")


def test_every_column_is_a_ledger_field_of_its_own():
    fields = {f.name for f in Transaction._meta.concrete_fields}
    assert set(CANONICAL_LEDGER_FIELDS) <= fields
    assert len(set(CANONICAL_LEDGER_FIELDS)) == len(CANONICAL_COLUMNS)


def test_the_tonle_preset_the_documents_and_the_bench_read_the_one_list():
    # given the places that write or read the canonical columns
    from bench.import_statement import canonical_csv
    from statements.documents.common import CSV_COLUMNS
    from statements.documents.ledger_export import EXPORT_COLUMNS

    # then
    assert list(PRESETS["tonle"]["columns"]) == list(CANONICAL_COLUMNS)
    assert PRESETS["tonle"]["required"] == list(CANONICAL_REQUIRED)
    assert CSV_COLUMNS[:-1] == CANONICAL_COLUMNS and CSV_COLUMNS[-1] == "balance"
    assert EXPORT_COLUMNS[1:-2] == CANONICAL_COLUMNS
    header = next(csv.reader(io.StringIO(canonical_csv(1).decode())))
    assert tuple(header) == CANONICAL_COLUMNS
