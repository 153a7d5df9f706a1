"""A file is written chunk by chunk while it is still being validated: whatever
goes wrong after the first chunks landed (a bad row, a broken CSV, too many rows, a
line another writer put in meanwhile), the import is still all or nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from statements.models import ImportBatch, Transaction
from statements.services import imports
from statements.services.imports import statement_file_import
from statements.services.ledger_rows import LedgerIds
from tests.factories import AccountFactory, TransactionFactory
from tests.statements.ingest_files import canonical, csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(imports, "FIRST_CHUNK", 2)
    monkeypatch.setattr(imports, "CHUNK", 3)


def line(n: int, **extra) -> dict:
    return {
        "txn_id": f"S{n}",
        "posted_at": f"2026-05-{n % 28 + 1:02d}T09:00:00+07:00",
        "amount": f"{n + 1}.00",
        "currency": "USD",
        **extra,
    }


def test_a_bad_row_after_chunks_were_written_leaves_nothing(account, small_chunks):
    # given ten good lines (four chunks) and a bad amount in the last one
    rows = [line(n) for n in range(10)] + [line(10, amount="12,5O")]
    # when
    result = statement_file_import(
        account=account, file_bytes=canonical(rows), filename="a.csv"
    )
    # then
    assert result.inserted == 0
    assert [e["row"] for e in result.errors] == [12]
    assert not Transaction.objects.exists()
    assert ImportBatch.objects.get().status == "failed"


def test_too_many_rows_found_past_the_first_rows_leaves_nothing(account, settings):
    # given a limit the file passes only after the rows read up front
    settings.MAX_IMPORT_ROWS = 150
    rows = [line(n) for n in range(151)]
    # when
    result = statement_file_import(
        account=account, file_bytes=canonical(rows), filename="a.csv"
    )
    # then
    assert "more than 150 rows" in result.errors[0]["message"]
    assert not Transaction.objects.exists()


def test_a_file_that_stops_being_csv_part_way_leaves_nothing(account, small_chunks):
    # given 150 good lines, then a field over the csv module's size limit
    rows = [line(n) for n in range(150)] + [line(150, description="x" * 200_000)]
    # when
    result = statement_file_import(
        account=account, file_bytes=canonical(rows), filename="a.csv"
    )
    # then
    assert "is not valid CSV" in result.errors[0]["message"]
    assert "line 152" in result.errors[0]["message"]
    assert not Transaction.objects.exists()


def test_a_line_another_writer_put_in_meanwhile_is_skipped_not_doubled(
    account, small_chunks, monkeypatch
):
    # given S4 reaches the ledger after the chunk was checked (the check is
    # made blind to it, as a concurrent feed sync would be)
    TransactionFactory(account=account, external_id="S4", amount=Decimal("5.00"))
    monkeypatch.setattr(LedgerIds, "present_lines", lambda self, ids: {})
    rows = [line(n) for n in range(8)]
    # when
    result = statement_file_import(
        account=account, file_bytes=canonical(rows), filename="a.csv"
    )
    # then: every other line once, S4 once, and the counts say so
    assert (result.inserted, result.skipped, result.errors) == (7, 1, [])
    ids = list(Transaction.objects.values_list("external_id", flat=True))
    assert sorted(ids) == sorted(f"S{n}" for n in range(8))


def test_lines_without_bank_ids_are_matched_across_chunks(khr_account, small_chunks):
    # given one fee already in the ledger (from the feed), and an ACLEDA export
    # (no bank ids) holding three equal fees that fall in different chunks
    TransactionFactory(
        account=khr_account,
        external_id="FEED-1",
        value_date="2026-04-03",
        amount=Decimal("-1000"),
        reference="FEE",
    )
    fee = ["03/04/2026 09:00:00", "FEE", "fee", "1,000", ""]
    sales = [[f"0{d}/04/2026 10:00:00", f"FT{d}", "sale", "", "5,000"] for d in (4, 5)]
    rows = [fee, *sales, ["04/04/2026 11:00:00", "FT9", "sale", "", "7,000"], fee, fee]
    header = ["Trans. Date", "Reference No.", "Description", "Debit", "Credit"]
    # when
    result = statement_file_import(
        account=khr_account,
        file_bytes=csv_bytes(header, rows),
        filename="apr.csv",
        preset="acleda",
    )
    # then: the ledger's fee matches one of the three; the file's own fees from
    # earlier chunks do not count as "already there" for its later ones
    assert (result.inserted, result.skipped, result.errors) == (5, 1, [])
    assert Transaction.objects.filter(reference="FEE").count() == 3


def test_a_broken_csv_met_only_on_the_exact_path_still_leaves_nothing(
    account, small_chunks, monkeypatch
):
    # given S0 already in the ledger but unseen by the check (so the first chunk's
    # COPY is refused and the import starts again on the exact path), and a field
    # over the csv module's limit far past that first chunk
    TransactionFactory(account=account, external_id="S0", amount=Decimal("1.00"))
    monkeypatch.setattr(LedgerIds, "present_lines", lambda self, ids: {})
    rows = [line(n) for n in range(150)] + [line(150, description="x" * 200_000)]
    # when
    result = statement_file_import(
        account=account, file_bytes=canonical(rows), filename="a.csv"
    )
    # then: refused with the reason, and the ledger holds only what it held
    assert "is not valid CSV" in result.errors[0]["message"]
    assert list(Transaction.objects.values_list("external_id", flat=True)) == ["S0"]
    assert ImportBatch.objects.get().status == "failed"


def test_a_line_met_again_early_in_a_long_copy_still_takes_the_exact_path(
    account, monkeypatch
):
    # given a line of the file already in the ledger but unseen by the look-up,
    # near the start of a file far bigger than what the connection buffers (so
    # the database refuses the COPY while rows are still being sent)
    TransactionFactory(account=account, external_id="S5", amount=Decimal("6.00"))
    monkeypatch.setattr(LedgerIds, "present_lines", lambda self, ids: {})
    rows = [line(n, description=f"{n} " + "x" * 4000) for n in range(3000)]
    # when
    result = statement_file_import(
        account=account, file_bytes=canonical(rows), filename="big.csv"
    )
    # then: every line once
    assert (result.inserted, result.skipped, result.errors) == (2999, 1, [])
    assert Transaction.objects.filter(account=account).count() == 3000


def test_a_hash_the_account_carries_skips_its_line_in_any_chunk(
    account, merchant, small_chunks
):
    # given the account's ledger carries one Bakong hash, and another account of
    # the merchant carries a second one
    carried, elsewhere = "a" * 64, "b" * 64
    TransactionFactory(account=account, external_id="W-1", bakong_hash=carried)
    other = AccountFactory(merchant=merchant, currency="USD")
    TransactionFactory(account=other, external_id="W-2", bakong_hash=elsewhere)
    # when a file lists the carried hash late (the fourth chunk) under the bank's
    # own id, the other account's hash, and one hash twice in different chunks
    own = "c" * 64
    rows = [line(n) for n in range(10)]
    rows[1]["bakong_hash"] = own
    rows[6]["bakong_hash"] = own
    rows[8]["bakong_hash"] = elsewhere
    rows[9]["bakong_hash"] = carried
    result = statement_file_import(
        account=account, file_bytes=canonical(rows), filename="a.csv"
    )
    # then only the line of the carried hash is skipped: the file's own repeat
    # and the other account's hash are this account's new lines
    assert (result.inserted, result.skipped, result.errors) == (9, 1, [])
    written = Transaction.objects.filter(account=account).exclude(external_id="W-1")
    assert sorted(written.values_list("external_id", flat=True)) == sorted(
        f"S{n}" for n in range(9)
    )
