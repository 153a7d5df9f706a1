"""A database error in the middle of an import (the Nth chunk's write is refused by
the database itself): nothing of the file reaches the ledger, the batch is not left
looking imported or waiting, and importing the same file again works."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection

from merchants.models import AuditEvent
from statements.models import ImportBatch, ImportStatus, Transaction
from statements.services import imports
from statements.services.imports import statement_file_import
from tests.statements.ingest_files import canonical

pytestmark = pytest.mark.django_db

ROWS = 20
FAILING_CHUNK = 3  # chunks of 2, then 3: rows 1-2, 3-5, 6-8 (the failing one), ...


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(imports, "FIRST_CHUNK", 2)
    monkeypatch.setattr(imports, "CHUNK", 3)


def _file() -> bytes:
    return canonical(
        {
            "txn_id": f"DBERR-{n}",
            "posted_at": f"2026-05-{n % 28 + 1:02d}T09:00:00+07:00",
            "amount": f"{n + 1}.25",
            "currency": "USD",
        }
        for n in range(ROWS)
    )


@pytest.fixture
def refused_at_chunk(monkeypatch):
    """The Nth chunk carries a line the ledger's own CHECK constraint refuses (a
    zero amount): the error comes from the database, mid-write, after earlier
    chunks were sent."""
    real_fresh = imports._LedgerMatch.fresh
    calls = {"n": 0}

    def fresh(self, lines):
        calls["n"] += 1
        drafts = real_fresh(self, lines)
        if calls["n"] == FAILING_CHUNK:
            drafts = [drafts[0]._replace(amount=Decimal("0")), *drafts[1:]]
        return drafts

    monkeypatch.setattr(imports._LedgerMatch, "fresh", fresh)
    return calls


def test_a_database_error_at_a_middle_chunk_leaves_nothing_half_written(
    account, small_chunks, refused_at_chunk, monkeypatch
):
    # given a file of several chunks whose third chunk the database refuses
    data = _file()
    # when it is imported
    with pytest.raises(DatabaseError):
        statement_file_import(account=account, file_bytes=data, filename="may.csv")
    # then the earlier chunks were written and then undone
    assert refused_at_chunk["n"] >= FAILING_CHUNK
    assert not Transaction.objects.filter(account=account).exists()
    assert not AuditEvent.objects.filter(action="statement.file_imported").exists()
    # and the batch does not claim to be imported, nor to wait for a mapping
    statuses = set(ImportBatch.objects.values_list("status", flat=True))
    assert statuses <= {ImportStatus.FAILED}, statuses
    # and the connection is usable for the next request
    assert connection.is_usable()

    # when the database is well again and the same file is imported again
    monkeypatch.undo()
    result = statement_file_import(account=account, file_bytes=data, filename="may.csv")
    # then every line is in, once
    assert (result.inserted, result.skipped, result.errors) == (ROWS, 0, [])
    assert Transaction.objects.filter(account=account).count() == ROWS
    assert ImportBatch.objects.get(pk=result.batch_id).status == ImportStatus.IMPORTED


def test_a_staged_file_whose_import_meets_a_database_error_can_be_confirmed_again(
    account, small_chunks, refused_at_chunk, monkeypatch
):
    # given a file staged for a person to confirm (the import page's way)
    data = _file()
    batch = imports.import_batch_stage(
        account=account, file_bytes=data, filename="may.csv"
    )
    # when the confirm meets a database error part way
    with pytest.raises(DatabaseError):
        statement_file_import(
            account=account, file_bytes=data, filename="may.csv", batch=batch
        )
    # then nothing is written and the batch still waits for its confirm
    assert not Transaction.objects.filter(account=account).exists()
    batch.refresh_from_db()
    assert batch.status == ImportStatus.PENDING
    # and confirming it again imports it whole
    monkeypatch.undo()
    result = statement_file_import(
        account=account, file_bytes=data, filename="may.csv", batch=batch
    )
    assert result.inserted == ROWS
    assert Transaction.objects.filter(account=account).count() == ROWS
