"""PostgreSQL's COPY straight into the ledger: many writes into one COPY, which the
database checks when it ends; leaving early abandons it and writes nothing."""

from __future__ import annotations

import psycopg.errors
import pytest
from django.db import IntegrityError, connection, transaction

from statements.models import Transaction
from statements.services.ledger_rows import LedgerCopy, row_shape
from tests.factories import TransactionFactory
from tests.statements.ingest_files import line_draft

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="COPY is PostgreSQL's"
    ),
]


def drafts(*ids: str) -> list:
    return [line_draft(external_id=external_id) for external_id in ids]


def test_writes_go_into_one_copy_that_close_ends(account):
    shape = row_shape(account=account, source="file")
    with LedgerCopy(shape) as copier:
        assert copier.write(drafts("C1", "C2")) == 2
        assert copier.write(drafts("C3")) == 1
        copier.close()  # the connection is free for a query again
        assert Transaction.objects.filter(account=account).count() == 3
        assert copier.write(drafts("C4")) == 1  # a new COPY
    ids = Transaction.objects.values_list("external_id", flat=True)
    assert sorted(ids) == ["C1", "C2", "C3", "C4"]


def test_an_exception_inside_abandons_the_copy_and_comes_out_as_itself(account):
    shape = row_shape(account=account, source="file")
    with (
        pytest.raises(RuntimeError, match="bad row"),
        transaction.atomic(),
        LedgerCopy(shape) as copier,
    ):
        copier.write(drafts("C1", "C2"))
        raise RuntimeError("the parser found a bad row")
    assert not Transaction.objects.exists()  # and the connection still answers


def test_a_line_already_there_is_refused_when_the_copy_ends(account):
    TransactionFactory(account=account, external_id="C2")
    shape = row_shape(account=account, source="file")
    with (
        pytest.raises(IntegrityError) as refused,
        transaction.atomic(),
        LedgerCopy(shape) as copier,
    ):
        copier.write(drafts("C1", "C2", "C3"))
        copier.close()
    assert isinstance(refused.value.__cause__, psycopg.errors.UniqueViolation)
    assert list(Transaction.objects.values_list("external_id", flat=True)) == ["C2"]
