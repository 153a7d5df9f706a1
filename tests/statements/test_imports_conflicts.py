"""A bank line sent again with the same txn_id: the same amount and day is skipped
and counted as before; another amount or day is a conflict, reported per row in the
preview and the result, not imported (the ledger keeps its line), while the file's
other lines are imported."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from statements.models import ImportBatch, Transaction
from statements.services.imports import (
    import_batch_stage,
    statement_file_import,
    statement_file_preview,
)
from tests.factories import TransactionFactory
from tests.statements.ingest_files import canonical

pytestmark = pytest.mark.django_db


def row(n: int, **extra) -> dict:
    return {
        "txn_id": f"T{n}",
        "posted_at": f"2026-04-{n:02d}T09:00:00+07:00",
        "amount": f"{n}.25",
        "currency": "USD",
        **extra,
    }


@pytest.fixture
def ledger_t1(account):
    """T1 as the feed posted it: 1.25 USD on 1 April (local)."""
    return TransactionFactory(
        account=account,
        external_id="T1",
        amount=Decimal("1.25"),
        posted_at=dt.datetime(2026, 4, 1, 2, 0, tzinfo=dt.UTC),
    )


def test_a_resent_txn_id_with_another_amount_is_a_conflict_not_a_skip(
    account, ledger_t1
):
    # given a file that says T1 was 9.99, beside a new T2
    data = canonical([row(1, amount="9.99"), row(2)])
    # when
    result = statement_file_import(account=account, file_bytes=data, filename="a.csv")
    # then T2 is imported, T1 is reported and the ledger keeps its 1.25
    assert (result.inserted, result.skipped, result.conflicted) == (1, 0, 1)
    assert result.errors == []
    conflict = result.conflicts[0]
    assert (conflict["row"], conflict["txn_id"]) == (2, "T1")
    assert conflict["message"] == (
        "'T1' is already in the ledger as 1.25 USD on 2026-04-01; this file says "
        "9.99 USD on 2026-04-01: not imported, the ledger keeps its line"
    )
    assert Transaction.objects.get(external_id="T1").amount == Decimal("1.25")
    assert Transaction.objects.filter(external_id="T2").exists()
    batch = ImportBatch.objects.get()
    assert (batch.conflicted, batch.conflicts) == (1, result.conflicts)
    assert "1 line(s) not imported" in batch.message


def test_a_resent_txn_id_on_another_day_is_a_conflict(account, ledger_t1):
    data = canonical([row(1, posted_at="2026-04-05T09:00:00+07:00")])
    result = statement_file_import(account=account, file_bytes=data, filename="a.csv")
    assert (result.inserted, result.skipped, result.conflicted) == (0, 0, 1)
    assert "this file says 1.25 USD on 2026-04-05" in result.conflicts[0]["message"]


def test_the_same_line_at_another_time_of_the_same_day_is_skipped(account, ledger_t1):
    # given the file's T1 a few hours later the same local day (no seconds kept)
    data = canonical([row(1, posted_at="2026-04-01T17:00+07:00")])
    # when
    result = statement_file_import(account=account, file_bytes=data, filename="a.csv")
    # then
    assert (result.inserted, result.skipped, result.conflicted) == (0, 1, 0)


def test_the_preview_lists_the_conflict_before_anything_is_written(
    account, ledger_t1, accountant_client
):
    # given
    data = canonical([row(1, amount="9.99"), row(2)])
    # when
    preview = statement_file_preview(account=account, file_bytes=data, filename="a")
    # then
    assert preview.errors == [] and preview.conflicted == 1
    assert preview.conflicts[0]["txn_id"] == "T1"
    # and the page says which line will not be imported
    batch = import_batch_stage(account=account, file_bytes=data, filename="a.csv")
    page = accountant_client.get(reverse("statements:import-detail", args=[batch.pk]))
    body = page.content.decode()
    assert "1 line(s) will not be imported:" in body
    assert "this file says 9.99 USD on 2026-04-01" in body
    assert Transaction.objects.count() == 1


def test_import_statement_json_lists_the_conflicts(account, ledger_t1, tmp_path):
    # given
    path = tmp_path / "a.csv"
    path.write_bytes(canonical([row(1, amount="9.99"), row(2)]))
    out = StringIO()
    # when
    call_command(
        "import_statement",
        "--account",
        str(account.pk),
        str(path),
        "--json",
        stdout=out,
    )
    # then
    answer = json.loads(out.getvalue())
    assert (answer["inserted"], answer["skipped"], answer["conflicted"]) == (1, 0, 1)
    assert answer["conflicts"][0]["row"] == 2


def test_many_conflicts_on_the_streamed_path_are_each_reported(account, monkeypatch):
    # given 30 lines already in the ledger, each with another amount, read in
    # chunks of 10
    from statements.services import imports

    monkeypatch.setattr(imports, "CHUNK", 10)
    monkeypatch.setattr(imports, "FIRST_CHUNK", 10)
    first = canonical([row(n) for n in range(1, 29)])
    statement_file_import(account=account, file_bytes=first, filename="a.csv")
    changed = canonical([row(n, amount=f"{n}.75") for n in range(1, 29)])
    # when
    result = statement_file_import(account=account, file_bytes=changed, filename="b")
    # then
    assert (result.inserted, result.skipped, result.conflicted) == (0, 0, 28)
    assert [c["row"] for c in result.conflicts] == list(range(2, 30))
