"""Which bank ids an account's ledger already holds: the look-up every file import
and feed sync asks chunk by chunk, with its one-probe answer for ids the ledger has
nothing between."""

from __future__ import annotations

import pytest
from django.db import connection

from statements.services import ledger_rows
from statements.services.ledger_rows import ledger_ids_present
from tests.factories import AccountFactory, TransactionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(account, merchant):
    for external_id in ("S-020", "S-040"):
        TransactionFactory(account=account, external_id=external_id)
    neighbour = AccountFactory(merchant=merchant, currency="USD")
    TransactionFactory(account=neighbour, external_id="S-030")
    return account


@pytest.mark.parametrize(
    ("ids", "present"),
    [
        (["S-021", "S-039"], set()),  # the other account's S-030 lies between
        (["S-019", "S-041"], set()),  # the account's own ids lie between
        (["S-010", "S-020", "S-030"], {"S-020"}),
        (["S-040"], {"S-040"}),
        (["S-020", "S-040", "S-050"], {"S-020", "S-040"}),
        (["S-041", "S-099"], set()),
        ([], set()),
    ],
)
@pytest.mark.parametrize("probe", [True, False], ids=["probe", "look-up only"])
def test_the_ids_the_account_holds_and_only_those(
    ledger, ids, present, probe, monkeypatch
):
    if not probe:  # as under a language collation (en_US…)
        monkeypatch.setattr(ledger_rows, "_ids_in_code_point_order", lambda: False)
    assert ledger_ids_present(ledger, ids) == present


def test_ids_the_ledger_has_nothing_between_cost_one_probe(
    ledger, django_assert_num_queries
):
    ledger_rows._ids_in_code_point_order()  # the database's collation, read once
    between = [f"S-{n:03d}" for n in range(21, 40)]
    with django_assert_num_queries(1):
        assert ledger_ids_present(ledger, between) == set()
    with django_assert_num_queries(2):
        assert ledger_ids_present(ledger, ["S-019", "S-041"]) == set()


def test_the_database_sorts_ids_as_python_does_when_the_probe_is_used(account):
    # the probe brackets a chunk's ids with Python's min and max: only sound where
    # the database orders text the same way
    if not ledger_rows._ids_in_code_point_order():
        pytest.skip("this database's collation is not code point order")
    ids = ["b-1", "B-2", "a_3", "A 4", "a-10", "a-9", "ក-1", "ข-2", "~x", "Z", "é"]
    for external_id in ids:
        TransactionFactory(account=account, external_id=external_id)
    table = connection.ops.quote_name("statements_transaction")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT external_id FROM {table} WHERE account_id = %s "  # noqa: S608
            "ORDER BY external_id",
            [account.pk],
        )
        assert [row[0] for row in cursor.fetchall()] == sorted(ids)
