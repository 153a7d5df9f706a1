"""statement_file_import: lines land once, already-present lines are skipped and
counted, the batch and audit trail say what happened; the command speaks JSON."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from merchants.models import AuditEvent
from statements.models import ImportBatch, Transaction
from statements.services.imports import statement_file_import
from tests.factories import TransactionFactory
from tests.statements.ingest_files import canonical, csv_bytes, line_draft

pytestmark = pytest.mark.django_db


def row(n: int, **extra) -> dict:
    return {
        "txn_id": f"T{n}",
        "posted_at": f"2026-04-{n:02d}T09:00:00+07:00",
        "amount": f"{n}.25",
        "currency": "USD",
        **extra,
    }


def test_import_writes_exact_lines_with_source_file_and_batch(account, merchant):
    # given a canonical file of two lines
    data = canonical([row(1, channel="KHQR", balance_after="100.25"), row(2)])
    # when
    result = statement_file_import(account=account, file_bytes=data, filename="a.csv")
    # then
    assert (result.inserted, result.skipped, result.errors) == (2, 0, [])
    lines = list(Transaction.objects.filter(account=account).order_by("posted_at"))
    assert [x.amount for x in lines] == [Decimal("1.25"), Decimal("2.25")]
    assert lines[0].posted_at == dt.datetime(2026, 4, 1, 2, 0, tzinfo=dt.UTC)
    assert lines[0].value_date == dt.date(2026, 4, 1)
    assert lines[0].balance_after == Decimal("100.25")
    assert {x.source for x in lines} == {"file"}
    batch = ImportBatch.objects.get()
    assert lines[0].import_batch_id == batch.pk
    assert (batch.status, batch.inserted, batch.rows) == ("imported", 2, 2)
    assert batch.file.read() == data
    event = AuditEvent.objects.get(action="statement.file_imported")
    assert event.merchant == merchant and event.details["inserted"] == 2


def test_lines_already_in_the_ledger_are_skipped_and_counted(account):
    # given a feed line T1 already posted, and a file holding T1 and T2
    TransactionFactory(
        account=account,
        external_id="T1",
        amount=Decimal("1.25"),
        posted_at=dt.datetime(2026, 4, 1, 2, 0, tzinfo=dt.UTC),
    )
    data = canonical([row(1), row(2)])
    # when
    result = statement_file_import(account=account, file_bytes=data, filename="a.csv")
    # then
    assert (result.inserted, result.skipped, result.conflicted) == (1, 1, 0)
    assert Transaction.objects.filter(account=account).count() == 2


def test_overlapping_file_without_bank_ids_skips_lines_by_date_amount_reference(
    khr_account,
):
    # given an ACLEDA export (no ids), two equal fees on one day
    header = ["Trans. Date", "Reference No.", "Description", "Debit", "Credit"]
    first = csv_bytes(
        header,
        [
            ["03/04/2026 09:00:00", "FEE", "fee", "1,000", ""],
            ["03/04/2026 10:00:00", "FEE", "fee", "1,000", ""],
            ["04/04/2026 09:00:00", "FT1", "sale", "", "50,000"],
        ],
    )
    # and a later export overlapping it, with one new line
    second = csv_bytes(
        header,
        [
            ["03/04/2026 09:00:00", "FEE", "fee", "1,000", ""],
            ["03/04/2026 10:00:00", "FEE", "fee", "1,000", ""],
            ["04/04/2026 09:00:00", "FT1", "sale", "", "50,000"],
            ["05/04/2026 09:00:00", "FT2", "sale", "", "20,000"],
        ],
    )
    # when
    a = statement_file_import(
        account=khr_account, file_bytes=first, filename="mar.csv", preset="acleda"
    )
    b = statement_file_import(
        account=khr_account, file_bytes=second, filename="apr.csv", preset="acleda"
    )
    # then both equal fees were kept the first time, and only FT2 is new after
    assert (a.inserted, a.skipped) == (3, 0)
    assert (b.inserted, b.skipped) == (1, 3)
    amounts = sorted(
        Transaction.objects.filter(account=khr_account).values_list("amount", flat=True)
    )
    assert amounts == [Decimal(-1000), Decimal(-1000), Decimal(20000), Decimal(50000)]


def test_mapping_overrides_the_preset_columns(account):
    # given a file whose id column has a name no preset knows
    data = csv_bytes(
        ["Ref No", "posted_at", "amount", "currency"],
        [["R1", "2026-04-03T09:00:00+07:00", "5.00", "USD"]],
    )
    # when
    result = statement_file_import(
        account=account,
        file_bytes=data,
        filename="m.csv",
        preset="tonle",
        mapping={"txn_id": "Ref No"},
    )
    # then
    assert result.inserted == 1
    assert Transaction.objects.get().external_id == "R1"
    assert ImportBatch.objects.get().mapping == {"txn_id": "Ref No"}


def test_refused_file_is_kept_as_a_failed_import_with_its_errors(account):
    # given a file with a bad amount
    data = canonical([row(1, amount="1,25")])
    # when
    result = statement_file_import(account=account, file_bytes=data, filename="b.csv")
    # then
    batch = ImportBatch.objects.get()
    assert batch.status == "failed"
    assert batch.errors == result.errors
    assert batch.errors[0]["row"] == 2 and batch.errors[0]["field"] == "amount"
    # and the same file may be uploaded again once fixed elsewhere (not "imported")
    again = statement_file_import(account=account, file_bytes=data, filename="b.csv")
    assert again.errors and ImportBatch.objects.count() == 2


def test_import_statement_command_prints_json_counts(account, tmp_path, capsys):
    # given a canonical file on disk
    path = tmp_path / "s.csv"
    path.write_bytes(canonical([row(1), row(2)]))
    # when
    call_command("import_statement", "--account", str(account.pk), str(path), "--json")
    # then
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "inserted": 2,
        "skipped": 0,
        "errors": [],
        "flagged": 0,
        "flags": [],
        "warnings": [],
        "conflicted": 0,
        "conflicts": [],
    }


def test_import_statement_command_exits_non_zero_with_row_errors(account, tmp_path):
    # given a file with an error on row 3
    path = tmp_path / "s.csv"
    path.write_bytes(canonical([row(1), row(2, posted_at="yesterday")]))
    # when
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "import_statement", "--account", str(account.pk), str(path), "--json"
        )
    # then
    assert exit_info.value.code == 1
    assert Transaction.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_import_statement_command_refuses_a_duplicate_file_in_its_own_process(
    tmp_path,
):
    # given an account and a file imported once, in a real subprocess
    from tests.factories import AccountFactory

    account = AccountFactory(currency="USD")
    path = tmp_path / "s.csv"
    path.write_bytes(canonical([row(1)]))
    command = [
        sys.executable,
        "manage.py",
        "import_statement",
        "--account",
        str(account.pk),
        str(path),
        "--json",
    ]
    env = {**os.environ, "DATABASE_URL": _database_url()}
    first = subprocess.run(
        command, capture_output=True, text=True, check=False, env=env
    )
    # when
    second = subprocess.run(
        command, capture_output=True, text=True, check=False, env=env
    )
    # then
    assert first.returncode == 0, first.stderr
    counts = json.loads(first.stdout)
    assert (counts["inserted"], counts["skipped"], counts["errors"]) == (1, 0, [])
    assert second.returncode == 1
    assert json.loads(second.stdout)["error"] == "conflict"


def _database_url() -> str:
    """The test database, for a subprocess (the file SQLite or the test PG db)."""
    from django.db import connection

    sd = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{sd['NAME']}"
    auth = sd["USER"] + (f":{sd['PASSWORD']}" if sd["PASSWORD"] else "")
    return f"postgres://{auth}@{sd['HOST']}:{sd['PORT'] or 5432}/{sd['NAME']}"


def test_bulk_insert_skips_only_duplicates_and_raises_on_other_violations(khr_account):
    # given a draft that breaks the whole-riel CHECK (bypassing the parser)
    from django.db import IntegrityError, transaction

    from statements.services.ledger_rows import transaction_rows_insert

    good = line_draft(amount=Decimal("1000"), currency="KHR")
    bad = good._replace(external_id="K2", amount=Decimal("1000.50"))
    assert (
        transaction_rows_insert(account=khr_account, lines=[good], source="file") == 1
    )
    # when / then: the duplicate is skipped quietly, the broken line is not
    assert (
        transaction_rows_insert(account=khr_account, lines=[good], source="file") == 0
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        transaction_rows_insert(account=khr_account, lines=[bad], source="file")
    assert Transaction.objects.filter(account=khr_account).count() == 1


def test_bulk_writes_keep_every_field_of_a_draft(account, merchant):
    # given a cross-border line with every field filled in, and a plain one
    from statements.canonical import CANONICAL_LEDGER_FIELDS
    from statements.services.ledger_rows import (
        LedgerCopy,
        row_shape,
        transaction_rows_insert,
    )
    from tests.factories import AccountFactory

    full = line_draft(
        external_id="X1",
        posted_at=dt.datetime(2026, 4, 3, 16, 59, 58, 250000, tzinfo=dt.UTC),
        value_date=dt.date(2026, 4, 4),
        amount=Decimal("-28.40"),
        channel="CROSSBORDER",
        counterparty_name="ร้านกาแฟ",
        counterparty_account="012@kbank",
        reference="INV-9",
        bakong_hash="ab" * 32,
        description="ThaiQR",
        balance_after=Decimal("1203.07"),
        original_amount=Decimal("-1000.00"),
        original_currency="THB",
        fx_rate=Decimal("0.0289"),
        fee=Decimal("0.50"),
        biller_category="utilities",
        fx_mismatch=True,
    )
    plain = line_draft(external_id="X2")

    def copy(target, lines) -> None:
        with LedgerCopy(row_shape(account=target, source="file")) as copier:
            copier.write(lines)

    writers = [
        lambda target, lines: transaction_rows_insert(
            account=target, lines=lines, source="file"
        )
    ]
    if connection.vendor == "postgresql":
        writers.append(copy)
    for write in writers:
        target = AccountFactory(merchant=merchant, currency="USD")
        # when
        write(target, [full, plain])
        # then: each column holds its own field, as the draft had it
        for draft in (full, plain):
            stored = Transaction.objects.get(
                account=target, external_id=draft.external_id
            )
            for name in (*CANONICAL_LEDGER_FIELDS, "fx_mismatch"):
                assert getattr(stored, name) == getattr(draft, name), name
