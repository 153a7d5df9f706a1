"""An exception's run and merchant become set checks too, as a match's did in
migration 0004: a run writes a few thousand exceptions in one statement, and
their two FOREIGN KEYs queued one check per row and key, each its own query,
run at the save's end (21 ms of an invoice month's save, 5,600 look-ups of the
one run and the one merchant).

Each insert or update of exceptions checks the distinct run and merchant ids it
wrote (an update only those no row held before), locking them FOR KEY SHARE as a
foreign-key check does; the run's and the merchant's delete checks (0007's
probes) look at the exceptions as well as the matches, so neither can be
deleted while an exception names it, as NO ACTION (Django's PROTECT) did.
tests/reconciliation/test_match_keys.py checks the triggers.
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

from core.migration_sql import vendor_sql

_0007 = importlib.import_module(
    "reconciliation.migrations.0007_named_checks_probe_each_row"
)

TABLE = "reconciliation_reconciliationexception"
# (column, referenced table)
KEYS = [
    ("run_id", "reconciliation_reconciliationrun"),
    ("merchant_id", "merchants_merchant"),
]


def _checks(values: str) -> str:
    # a key is sound when as many rows were found (and locked) as distinct
    # values were written
    return "\n".join(
        f"""IF (SELECT count(*) FROM (SELECT 1 FROM {ref} r
                WHERE r.id IN ({values.format(column)}) FOR KEY SHARE) locked)
            <> (SELECT count(*) FROM ({values.format(column)}) added) THEN
              RAISE EXCEPTION '{TABLE}.{column} names no {ref} row'
                USING ERRCODE = 'foreign_key_violation';
            END IF;"""
        for column, ref in KEYS
    )


_WRITTEN = "SELECT DISTINCT n.{0} FROM written n"
# An update checks the values its rows did not hold before: a value some row
# held is named already, so no delete can take it from under this one (0004's
# per-row comparison joined the two transition tables row by row, and a re-run's
# upsert updates every exception: 2,800 of them took 3.3 s).
_ADDED = "SELECT n.{0} FROM written n EXCEPT SELECT o.{0} FROM previous o"


def _named_check(ref: str) -> str:
    """0007's delete check of `ref`, probing the exceptions too."""
    named = [
        *_0007._named(ref),
        *((TABLE, column) for column, r in KEYS if r == ref),
    ]
    found = " OR ".join(
        f"EXISTS (SELECT 1 FROM gone o, LATERAL (SELECT 1 FROM {t} i"  # noqa: S608
        f" WHERE i.{c} = o.id LIMIT 1) named)"
        for t, c in named
    )
    return f"""CREATE OR REPLACE FUNCTION {ref}_named_check() RETURNS trigger AS $$
           BEGIN
             IF {found} THEN
               RAISE EXCEPTION '{ref} row still named by a reconciliation match or exception'
                 USING ERRCODE = 'foreign_key_violation';
             END IF;
             RETURN NULL;
           END; $$ LANGUAGE plpgsql"""


POSTGRES = [
    f"""CREATE FUNCTION {TABLE}_keys_check() RETURNS trigger AS $$
       BEGIN
         {_checks(_WRITTEN)}
         RETURN NULL;
       END; $$ LANGUAGE plpgsql""",
    f"""CREATE TRIGGER {TABLE}_keys_insert
       AFTER INSERT ON {TABLE}
       REFERENCING NEW TABLE AS written
       FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_keys_check()""",
    f"""CREATE FUNCTION {TABLE}_keys_change_check() RETURNS trigger AS $$
       BEGIN
         {_checks(_ADDED)}
         RETURN NULL;
       END; $$ LANGUAGE plpgsql""",
    f"""CREATE TRIGGER {TABLE}_keys_update
       AFTER UPDATE ON {TABLE}
       REFERENCING OLD TABLE AS previous NEW TABLE AS written
       FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_keys_change_check()""",
    *(_named_check(ref) for _, ref in KEYS),
]
POSTGRES_REVERSE = [
    *(_0007._probe_check(ref) for _, ref in KEYS),
    f"DROP TRIGGER IF EXISTS {TABLE}_keys_update ON {TABLE}",
    f"DROP FUNCTION IF EXISTS {TABLE}_keys_change_check()",
    f"DROP TRIGGER IF EXISTS {TABLE}_keys_insert ON {TABLE}",
    f"DROP FUNCTION IF EXISTS {TABLE}_keys_check()",
]


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0007_user_settings"),
        ("reconciliation", "0007_named_checks_probe_each_row"),
    ]

    operations = [
        migrations.AlterField(
            model_name="reconciliationexception",
            name="merchant",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="recon_exceptions",
                to="merchants.merchant",
            ),
        ),
        migrations.AlterField(
            model_name="reconciliationexception",
            name="run",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="exceptions",
                to="reconciliation.reconciliationrun",
            ),
        ),
        vendor_sql({"postgresql": POSTGRES}, {"postgresql": POSTGRES_REVERSE}),
    ]
