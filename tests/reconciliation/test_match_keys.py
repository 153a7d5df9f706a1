"""A match's and its items' foreign keys, and an exception's, held by PostgreSQL
triggers that check each statement's rows as one set (reconciliation migrations
0004, 0005, 0007 and 0008): a key
naming no row is refused at insert and at update, a named row cannot be deleted
(nor its id changed), whatever the client. Django's PROTECT and CASCADE hold the
rules on both databases through the ORM."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction

from payments.models import BakongTransaction, Refund
from reconciliation.models import (
    Match,
    MatchItem,
    ReconciliationException,
    ReconciliationRun,
)
from tests.factories import AccountFactory
from tests.payments.makers import payment_request_make
from tests.reconciliation.review_makers import invoice, paid

pytestmark = pytest.mark.django_db

# the rule is the database's on PostgreSQL (production); on SQLite, the embedded
# default, the application's (see reconciliation migration 0004)
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a PostgreSQL trigger holds this"
)
FOREIGN_KEY_VIOLATION = "23503"

# item field -> (kind, the table the key names)
KEYS = {
    "payment_request": ("khqr", "payments_paymentrequest"),
    "invoice": ("invoice", "reconciliation_invoice"),
    "refund": ("refund", "payments_refund"),
    "transaction": ("line", "statements_transaction"),
    "bakong_transaction": ("bakong", "payments_bakongtransaction"),
}


def refused(write) -> None:
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        write()
    assert caught.value.__cause__.sqlstate == FOREIGN_KEY_VIOLATION


def raw(sql: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def rows(merchant):
    """One row of each kind an item names, and a run."""
    bank = AccountFactory(merchant=merchant, provider="hattha", currency="USD")
    code = payment_request_make(merchant=merchant, amount="25.00", currency="USD")
    bakong = BakongTransaction.objects.create(
        merchant=merchant,
        payment_request=code,
        hash="b" * 64,
        short_hash="bbbbbbbb",
        md5=code.md5,
        from_account_id="sok_dara@aclb",
        to_account_id="shop_a@hath",
        amount=Decimal("25.00"),
        currency="USD",
        created_at_bakong=dt.datetime(2026, 11, 4, 3, tzinfo=dt.UTC),
        outcome="matched",
    )
    refund = Refund.objects.create(
        merchant=merchant,
        payment_request=code,
        amount=Decimal("5.00"),
        currency="USD",
        bank_reference="RF-1",
    )
    return {
        "payment_request": code,
        "invoice": invoice(merchant, "INV-1", "25.00"),
        "refund": refund,
        "transaction": paid(bank, 4, "25.00"),
        "bakong_transaction": bakong,
        "run": ReconciliationRun.objects.create(
            merchant=merchant,
            period_from=dt.date(2026, 11, 1),
            period_to=dt.date(2026, 11, 30),
        ),
    }


def match_make(merchant, **fields) -> Match:
    return Match.objects.create(
        merchant=merchant,
        tier=0,
        rule="manual",
        reason="by hand",
        status="confirmed",
        currency="USD",
        day=dt.date(2026, 11, 4),
        **fields,
    )


def item(match: Match, field: str, pk: int) -> MatchItem:
    return MatchItem.objects.create(
        match=match,
        kind=KEYS[field][0],
        amount=Decimal("25.00"),
        currency="USD",
        **{f"{field}_id": pk},
    )


@pytest.fixture
def matched(merchant, rows):
    """A match holding one item of each kind."""
    match = match_make(merchant, run=rows["run"])
    for field in KEYS:
        item(match, field, rows[field].pk)
    return match


@postgres_only
@pytest.mark.parametrize("field", KEYS)
def test_an_item_naming_no_row_is_refused_at_insert_and_update(
    merchant, rows, matched, field
):
    missing = rows[field].pk + 1000
    # when / then: the insert, and moving a sound item onto the missing row
    refused(lambda: item(matched, field, missing))
    held = matched.items.get(kind=KEYS[field][0])
    refused(
        lambda: MatchItem.objects.filter(pk=held.pk).update(**{f"{field}_id": missing})
    )
    held.refresh_from_db()
    assert getattr(held, f"{field}_id") == rows[field].pk


def items_of(match: Match, field: str, pks: list[int]) -> list[MatchItem]:
    return [
        MatchItem(
            match=match,
            kind=KEYS[field][0],
            amount=Decimal("25.00"),
            currency="USD",
            **{f"{field}_id": pk},
        )
        for pk in pks
    ]


@postgres_only
@pytest.mark.parametrize("field", KEYS)
def test_one_missing_key_among_many_rows_of_one_statement_is_refused(
    merchant, rows, matched, field
):
    # given one statement writing items of every kind: the sound key twice over
    # (the check counts distinct keys), and one item naming no row
    sound = rows[field].pk
    batch = [
        *(i for f in KEYS for i in items_of(matched, f, [rows[f].pk, rows[f].pk])),
        *items_of(matched, field, [sound + 1000]),
    ]
    # when / then
    refused(lambda: MatchItem.objects.bulk_create(batch))
    assert matched.items.count() == len(KEYS)


@postgres_only
def test_many_rows_of_one_statement_naming_sound_keys_are_written(
    merchant, rows, matched
):
    # given items of every kind, each key named by several rows
    batch = [i for f in KEYS for i in items_of(matched, f, [rows[f].pk] * 3)]
    # when
    MatchItem.objects.bulk_create(batch)
    # then
    assert matched.items.count() == len(KEYS) * 4


@postgres_only
def test_an_item_of_no_match_is_refused_at_insert_and_update(merchant, rows, matched):
    missing = matched.pk + 1000
    refused(
        lambda: MatchItem.objects.create(
            match_id=missing,
            kind="invoice",
            invoice=rows["invoice"],
            amount=Decimal("25.00"),
            currency="USD",
        )
    )
    refused(lambda: matched.items.update(match_id=missing))
    assert matched.items.count() == len(KEYS)


@postgres_only
def test_a_match_of_no_run_or_merchant_is_refused(merchant, rows, matched):
    refused(lambda: match_make(merchant, run_id=rows["run"].pk + 1000))
    refused(lambda: match_make(merchant.__class__(pk=merchant.pk + 1000)))
    refused(lambda: Match.objects.filter(pk=matched.pk).update(run_id=0))
    refused(lambda: Match.objects.filter(pk=matched.pk).update(merchant_id=0))
    assert Match.objects.get().run_id == rows["run"].pk


@postgres_only
@pytest.mark.parametrize("field", [*KEYS, "run"])
def test_a_row_a_match_names_cannot_be_deleted_nor_its_id_changed(rows, matched, field):
    # given a row of that kind a match names
    named = rows[field]
    table = connection.ops.quote_name(named._meta.db_table)
    # when / then: raw SQL (no Django PROTECT in the way) is refused
    refused(lambda: raw(f"DELETE FROM {table} WHERE id = %s", named.pk))  # noqa: S608
    refused(
        lambda: raw(f"UPDATE {table} SET id = id + 1000 WHERE id = %s", named.pk)  # noqa: S608
    )
    assert named.__class__.objects.filter(pk=named.pk).exists()


@postgres_only
def test_rows_no_match_names_are_deleted(merchant, rows, matched):
    # given an invoice and a run no match names
    spare = invoice(merchant, "INV-2", "10.00")
    run = ReconciliationRun.objects.create(
        merchant=merchant,
        period_from=dt.date(2026, 11, 1),
        period_to=dt.date(2026, 11, 30),
    )
    # when
    raw('DELETE FROM "reconciliation_invoice" WHERE id = %s', spare.pk)
    raw('DELETE FROM "reconciliation_reconciliationrun" WHERE id = %s', run.pk)
    # then
    assert not spare.__class__.objects.filter(pk=spare.pk).exists()
    assert not ReconciliationRun.objects.filter(pk=run.pk).exists()


@postgres_only
@pytest.mark.parametrize("field", ["transaction", "invoice"])
def test_one_named_row_among_many_deleted_in_one_statement_is_refused(
    merchant, rows, matched, field
):
    # given many rows of that kind no match names, and the one a match names
    named = rows[field]
    spares = (
        [paid(named.account, 3, "1.00", external_id=f"S-{n}") for n in range(60)]
        if field == "transaction"
        else [invoice(merchant, f"INV-S{n}", "1.00") for n in range(60)]
    )
    table = connection.ops.quote_name(named._meta.db_table)
    ids = [s.pk for s in spares]
    # when / then: one statement with the named row among them is refused whole
    refused(
        lambda: raw(f"DELETE FROM {table} WHERE id = ANY(%s)", [*ids, named.pk])  # noqa: S608
    )
    assert named.__class__.objects.filter(pk__in=[*ids, named.pk]).count() == 61
    # and without it, every one of them goes
    raw(f"DELETE FROM {table} WHERE id = ANY(%s)", ids)  # noqa: S608
    assert not named.__class__.objects.filter(pk__in=ids).exists()


@postgres_only
def test_a_raw_delete_of_a_match_with_items_is_refused(matched):
    refused(lambda: raw('DELETE FROM "reconciliation_match" WHERE id = %s', matched.pk))
    assert matched.items.count() == len(KEYS)


def test_the_orm_deletes_a_match_with_its_items(merchant, rows, matched):
    # given a second match, to delete through a query set
    other = match_make(merchant)
    item(other, "invoice", rows["invoice"].pk)
    # when: Django's collector deletes the items before the match
    matched.delete()
    Match.objects.filter(pk=other.pk).delete()
    # then
    assert not Match.objects.exists()
    assert not MatchItem.objects.exists()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_named_row_cannot_be_deleted_while_a_writer_inserts_its_item(
    merchant, rows, matched
):
    # given a writer that has inserted, not yet committed, an item naming a
    # second invoice
    second = invoice(merchant, "INV-3", "30.00")
    other = connection.copy()
    try:
        with transaction.atomic():
            item(matched, "invoice", second.pk)
            # when another connection deletes that invoice
            with other.cursor() as cursor:
                cursor.execute("SET lock_timeout = '300ms'")
                # then it waits for the writer's key-share lock (here: gives up)
                with pytest.raises(OperationalError, match="lock timeout"):
                    cursor.execute(
                        'DELETE FROM "reconciliation_invoice" WHERE id = %s',
                        [second.pk],
                    )
        # and once the writer commits, the delete is refused
        with other.cursor() as cursor, pytest.raises(IntegrityError):
            cursor.execute(
                'DELETE FROM "reconciliation_invoice" WHERE id = %s', [second.pk]
            )
    finally:
        other.close()
    assert MatchItem.objects.filter(invoice=second).exists()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_update_that_keeps_the_keys_takes_no_lock_on_the_rows_they_name(
    merchant, rows, matched
):
    # given another connection holding the merchant and the run FOR UPDATE
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            for table, pk in (
                ("merchants_merchant", merchant.pk),
                ("reconciliation_reconciliationrun", rows["run"].pk),
            ):
                cursor.execute(
                    f'SELECT 1 FROM "{table}" WHERE id = %s FOR UPDATE',  # noqa: S608
                    [pk],
                )
            # when a match's status and its items' amounts change
            with transaction.atomic(), connection.cursor() as mine:
                mine.execute("SET LOCAL lock_timeout = '300ms'")
                Match.objects.filter(pk=matched.pk).update(status="rejected")
                matched.items.update(amount=Decimal("24.00"))
            # then neither waited for the other connection's locks
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert Match.objects.get().status == "rejected"


def exception_make(
    merchant, run, key: str = "unpaid_item:inv:1|"
) -> ReconciliationException:
    return ReconciliationException.objects.create(
        merchant=merchant,
        run=run,
        reason="unpaid_item",
        key=key,
        amount=Decimal("25.00"),
        currency="USD",
        detail="INV-1 was due",
        day=dt.date(2026, 11, 4),
    )


@postgres_only
def test_an_exception_of_no_run_or_merchant_is_refused_at_insert_and_update(
    merchant, rows
):
    run = rows["run"]
    found = exception_make(merchant, run)
    # when / then: a missing run or merchant, written alone or among sound rows
    refused(lambda: exception_make(merchant, run.__class__(pk=run.pk + 1000), "k2"))
    refused(
        lambda: exception_make(merchant.__class__(pk=merchant.pk + 1000), run, "k3")
    )
    refused(
        lambda: ReconciliationException.objects.bulk_create(
            [
                ReconciliationException(
                    merchant=merchant,
                    run_id=run_id,
                    reason="unpaid_item",
                    key=f"k-{n}",
                    amount=Decimal("1.00"),
                    currency="USD",
                    detail="",
                    day=dt.date(2026, 11, 4),
                )
                for n, run_id in enumerate([run.pk, run.pk, run.pk + 1000])
            ]
        )
    )
    exceptions = ReconciliationException.objects.filter(pk=found.pk)
    refused(lambda: exceptions.update(run_id=run.pk + 1000))
    refused(lambda: exceptions.update(merchant_id=merchant.pk + 1000))
    # then only the sound one is there, as it was written
    assert list(ReconciliationException.objects.values_list("pk", "run_id")) == [
        (found.pk, run.pk)
    ]


@postgres_only
def test_a_run_or_merchant_an_exception_names_cannot_be_deleted(merchant, rows):
    # given a run no match names, named by an exception
    run = ReconciliationRun.objects.create(
        merchant=merchant,
        period_from=dt.date(2026, 11, 1),
        period_to=dt.date(2026, 11, 30),
    )
    exception_make(merchant, run)
    # when / then: raw SQL (no Django PROTECT in the way) is refused
    runs = '"reconciliation_reconciliationrun"'
    refused(lambda: raw(f"DELETE FROM {runs} WHERE id = %s", run.pk))  # noqa: S608
    refused(lambda: raw(f"UPDATE {runs} SET id = id + 1000 WHERE id = %s", run.pk))  # noqa: S608
    refused(lambda: raw('DELETE FROM "merchants_merchant" WHERE id = %s', merchant.pk))
    assert ReconciliationRun.objects.filter(pk=run.pk).exists()
    # and once the exception goes, so can the run
    ReconciliationException.objects.all().delete()
    raw(f"DELETE FROM {runs} WHERE id = %s", run.pk)  # noqa: S608
    assert not ReconciliationRun.objects.filter(pk=run.pk).exists()


@postgres_only
def test_an_exception_found_again_by_an_upsert_moves_to_the_new_run(merchant, rows):
    # given an exception of one run, and a second run
    found = exception_make(merchant, rows["run"])
    second = ReconciliationRun.objects.create(
        merchant=merchant,
        period_from=dt.date(2026, 11, 1),
        period_to=dt.date(2026, 11, 30),
    )
    # when an upsert on its key names the second run, then a missing one
    upsert = (
        'INSERT INTO "reconciliation_reconciliationexception" (merchant_id, run_id,'
        " reason, key, amount, currency, detail, day, expected_ids, posted_ids,"
        " nearest, explained, status, resolution, resolution_note, created_at,"
        " seen_at) VALUES (%s, %s, 'unpaid_item', %s, 100, 'USD', '', '2026-11-04',"
        " '[]', '[]', '[]', false, 'open', '', '', now(), now())"
        " ON CONFLICT (merchant_id, key) DO UPDATE SET run_id = excluded.run_id"
    )
    raw(upsert, merchant.pk, second.pk, found.key)
    refused(lambda: raw(upsert, merchant.pk, second.pk + 1000, found.key))
    # then
    found.refresh_from_db()
    assert found.run_id == second.pk
