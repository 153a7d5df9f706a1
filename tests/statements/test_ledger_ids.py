"""Which bank ids an account's ledger already holds: the look-up every file import
and feed sync asks batch by batch, and the gap between the ledger's ids that spares
a new period's statement almost every query."""

from __future__ import annotations

import pytest
from django.db import connection

from statements.services import ledger_rows
from statements.services.ledger_rows import LedgerIds, ledger_ids_present
from tests.factories import AccountFactory, TransactionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(account, merchant):
    for external_id in ("S-020", "S-040"):
        TransactionFactory(account=account, external_id=external_id)
    neighbour = AccountFactory(merchant=merchant, currency="USD")
    TransactionFactory(account=neighbour, external_id="S-030")
    return account


@pytest.fixture
def collation_read():
    ledger_rows._ids_in_code_point_order()  # the database's collation, read once


def ids(*numbers: int) -> list[str]:
    return [f"S-{n:03d}" for n in numbers]


@pytest.mark.parametrize(
    ("wanted", "present"),
    [
        (ids(21, 39), set()),  # the other account's S-030 lies between
        (ids(19, 41), set()),  # the account's own ids lie between
        (ids(10, 20, 30), {"S-020"}),
        (ids(40), {"S-040"}),
        (ids(20, 40, 50), {"S-020", "S-040"}),
        (ids(41, 99), set()),
        ([], set()),
    ],
)
@pytest.mark.parametrize(
    "asker", ["gap", "gap under a language collation", "one look-up"]
)
def test_the_ids_the_account_holds_and_only_those(
    ledger, wanted, present, asker, monkeypatch
):
    if asker == "one look-up":
        assert ledger_ids_present(ledger, wanted) == present
        return
    if asker == "gap under a language collation":  # en_US…: no gap, look-ups only
        monkeypatch.setattr(ledger_rows, "_ids_in_code_point_order", lambda: False)
    assert LedgerIds(ledger).present(wanted) == present


def test_a_one_off_question_is_one_query(ledger, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert ledger_ids_present(ledger, ids(21, 39)) == set()


def test_batches_inside_the_gap_they_found_need_no_query(
    ledger, collation_read, django_assert_num_queries
):
    known = LedgerIds(ledger)
    # the gap between S-020 and S-040 is found with two probes …
    with django_assert_num_queries(2):
        assert known.present(ids(30, 31)) == set()
    # … later batches inside it, in any order, cost nothing
    with django_assert_num_queries(0):
        assert known.present(ids(35, 39)) == set()
        assert known.present(ids(21, 22)) == set()
    # a batch reaching past it is looked up
    with django_assert_num_queries(2):
        assert known.present(ids(38, 40)) == {"S-040"}


def test_the_gap_holds_the_writers_own_new_lines_only(ledger, collation_read):
    # given a gap found above the account's last id, and lines written there since
    known = LedgerIds(ledger)
    assert known.present(ids(41, 50)) == set()
    for external_id in ids(41, 50):
        TransactionFactory(account=ledger, external_id=external_id)
    # then the writer's next batch above them still needs no look-up, and a
    # batch reaching below the gap is looked up again and finds S-040
    assert known.present(ids(51, 60)) == set()
    assert known.present(ids(39, 40)) == {"S-040"}


def test_the_database_sorts_ids_as_python_does_when_the_gap_is_used(account):
    # the gap brackets a batch's ids with Python's min and max: only sound where
    # the database orders text the same way
    if not ledger_rows._ids_in_code_point_order():
        pytest.skip("this database's collation is not code point order")
    external_ids = ["b-1", "B-2", "a_3", "A 4", "a-10", "a-9", "ក-1", "ข-2", "~x", "é"]
    for external_id in external_ids:
        TransactionFactory(account=account, external_id=external_id)
    table = connection.ops.quote_name("statements_transaction")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT external_id FROM {table} WHERE account_id = %s "  # noqa: S608
            "ORDER BY external_id",
            [account.pk],
        )
        assert [row[0] for row in cursor.fetchall()] == sorted(external_ids)


def test_the_hashes_the_accounts_other_lines_carry_and_only_those(account, merchant):
    # given the account's lines: one hash with no batch, one of an import batch,
    # and another account of the merchant with a third hash
    from statements.models import ImportBatch
    from statements.services.ledger_rows import ledger_hashes_present

    batch = ImportBatch.objects.create(
        merchant=merchant, account=account, filename="a.csv", sha256="0" * 64
    )
    other_batch = ImportBatch.objects.create(
        merchant=merchant, account=account, filename="b.csv", sha256="1" * 64
    )
    TransactionFactory(account=account, bakong_hash="a" * 64)
    TransactionFactory(account=account, bakong_hash="b" * 64, import_batch=batch)
    TransactionFactory(account=account)  # no hash
    neighbour = AccountFactory(merchant=merchant, currency="USD")
    TransactionFactory(account=neighbour, bakong_hash="c" * 64)
    asked = ["a" * 64, "b" * 64, "c" * 64, "d" * 64]
    # when / then: the batch's own lines are left out, the neighbour's never count
    assert ledger_hashes_present(account, asked, excluding_batch_id=batch.pk) == {
        "a" * 64
    }
    assert ledger_hashes_present(account, asked, excluding_batch_id=other_batch.pk) == {
        "a" * 64,
        "b" * 64,
    }
    assert ledger_hashes_present(account, [], excluding_batch_id=batch.pk) == set()
