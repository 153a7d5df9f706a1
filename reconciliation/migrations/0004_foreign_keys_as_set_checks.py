"""A match's and a match item's foreign keys become PostgreSQL triggers that
check a statement's rows as one set (as statements migration 0007 did for the
ledger): a run writes its items by COPY, and a FOREIGN KEY checks each row with
its own query, six keys per item, about half of a 100,000-line month's save.

Each insert or update of items (or matches) checks the distinct keys it wrote in
one query per key, locking the rows named FOR KEY SHARE as a foreign-key check
does, so none can be deleted under a run; each referenced table refuses a delete
(or a changed id) of a row still named, as NO ACTION does. A match with items is
refused too, rather than cascaded: Django's collector deletes the items first
(the run deletes them by a subquery first), so only a raw delete would orphan
them. On SQLite the application holds the rules (Django's PROTECT and CASCADE).
tests/reconciliation/test_match_keys.py checks the triggers.
"""

import django.db.models.deletion
from django.db import migrations, models

from core.migration_sql import vendor_sql

# (table, column, referenced table) for every key these triggers hold
KEYS = {
    "reconciliation_matchitem": [
        ("match_id", "reconciliation_match"),
        ("payment_request_id", "payments_paymentrequest"),
        ("invoice_id", "reconciliation_invoice"),
        ("refund_id", "payments_refund"),
        ("transaction_id", "statements_transaction"),
        ("bakong_transaction_id", "payments_bakongtransaction"),
    ],
    "reconciliation_match": [
        ("run_id", "reconciliation_reconciliationrun"),
        ("merchant_id", "merchants_merchant"),
    ],
}


def _written_check(table: str) -> list[str]:
    # A key is sound when as many rows were found (and locked) as distinct
    # values were written: one pass over the referenced table per key, and a
    # row deleted meanwhile is not found once its delete commits. An update
    # checks (and locks) only the keys it changed, as a FOREIGN KEY does: a
    # match's status change takes no lock on its merchant.
    def checks(rows: str) -> str:
        return "\n".join(
            f"""IF (SELECT count(*) FROM (SELECT 1 FROM {ref} r
                    WHERE r.id IN (SELECT n.{column} FROM {rows.format(column)})
                    FOR KEY SHARE) locked)
                <> (SELECT count(DISTINCT n.{column})
                      FROM {rows.format(column)}) THEN
              RAISE EXCEPTION '{table}.{column} names no {ref} row'
                USING ERRCODE = 'foreign_key_violation';
            END IF;"""
            for column, ref in KEYS[table]
        )

    changed = (
        "written n WHERE NOT EXISTS (SELECT 1 FROM previous o"
        " WHERE o.id = n.id AND o.{0} IS NOT DISTINCT FROM n.{0})"
    )
    return [
        f"""CREATE FUNCTION {table}_keys_check() RETURNS trigger AS $$
           BEGIN
             {checks("written n")}
             RETURN NULL;
           END; $$ LANGUAGE plpgsql""",
        f"""CREATE TRIGGER {table}_keys_insert
           AFTER INSERT ON {table}
           REFERENCING NEW TABLE AS written
           FOR EACH STATEMENT EXECUTE FUNCTION {table}_keys_check()""",
        f"""CREATE FUNCTION {table}_keys_change_check() RETURNS trigger AS $$
           BEGIN
             {checks(changed)}
             RETURN NULL;
           END; $$ LANGUAGE plpgsql""",
        f"""CREATE TRIGGER {table}_keys_update
           AFTER UPDATE ON {table}
           REFERENCING OLD TABLE AS previous NEW TABLE AS written
           FOR EACH STATEMENT EXECUTE FUNCTION {table}_keys_change_check()""",
    ]


def _referenced_check(ref: str) -> list[str]:
    # The delete's row locks wait for a writer's FOR KEY SHARE; the query runs
    # after them, so (READ COMMITTED) it sees rows that writer committed.
    named = [(t, c) for t, keys in KEYS.items() for c, r in keys if r == ref]
    found = " OR ".join(
        f"EXISTS (SELECT 1 FROM gone o JOIN {t} i ON i.{c} = o.id)" for t, c in named
    )
    return [
        f"""CREATE FUNCTION {ref}_named_check() RETURNS trigger AS $$
           BEGIN
             IF {found} THEN
               RAISE EXCEPTION '{ref} row still named by a reconciliation match'
                 USING ERRCODE = 'foreign_key_violation';
             END IF;
             RETURN NULL;
           END; $$ LANGUAGE plpgsql""",
        f"""CREATE TRIGGER {ref}_named_delete
           AFTER DELETE ON {ref}
           REFERENCING OLD TABLE AS gone
           FOR EACH STATEMENT EXECUTE FUNCTION {ref}_named_check()""",
        # a column list cannot have transition tables; ids do not change, so a
        # row trigger costs nothing
        f"""CREATE FUNCTION {ref}_id_change() RETURNS trigger AS $$
           BEGIN
             RAISE EXCEPTION '{ref} ids do not change (reconciliation matches name them)'
               USING ERRCODE = 'foreign_key_violation';
           END; $$ LANGUAGE plpgsql""",
        f"""CREATE TRIGGER {ref}_id_change
           AFTER UPDATE OF id ON {ref}
           FOR EACH ROW WHEN (OLD.id <> NEW.id)
           EXECUTE FUNCTION {ref}_id_change()""",
    ]


REFERENCED = sorted({r for keys in KEYS.values() for _, r in keys})
POSTGRES = [
    *(sql for table in KEYS for sql in _written_check(table)),
    *(sql for ref in REFERENCED for sql in _referenced_check(ref)),
]
POSTGRES_REVERSE = [
    *(
        sql
        for ref in REFERENCED
        for sql in (
            f"DROP TRIGGER IF EXISTS {ref}_id_change ON {ref}",
            f"DROP FUNCTION IF EXISTS {ref}_id_change()",
            f"DROP TRIGGER IF EXISTS {ref}_named_delete ON {ref}",
            f"DROP FUNCTION IF EXISTS {ref}_named_check()",
        )
    ),
    *(
        sql
        for table in KEYS
        for sql in (
            f"DROP TRIGGER IF EXISTS {table}_keys_update ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_keys_change_check()",
            f"DROP TRIGGER IF EXISTS {table}_keys_insert ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_keys_check()",
        )
    ),
]


class Migration(migrations.Migration):

    dependencies = [
        ('merchants', '0007_user_settings'),
        ('payments', '0008_admin_names'),
        ('reconciliation', '0003_partial_fk_indexes'),
        ('statements', '0014_transaction_search_trigram'),
    ]

    operations = [
        migrations.AlterField(
            model_name='match',
            name='merchant',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='recon_matches', to='merchants.merchant'),
        ),
        migrations.AlterField(
            model_name='match',
            name='run',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='matches', to='reconciliation.reconciliationrun'),
        ),
        migrations.AlterField(
            model_name='matchitem',
            name='bakong_transaction',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='recon_items', to='payments.bakongtransaction'),
        ),
        migrations.AlterField(
            model_name='matchitem',
            name='invoice',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='recon_items', to='reconciliation.invoice'),
        ),
        migrations.AlterField(
            model_name='matchitem',
            name='match',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='items', to='reconciliation.match'),
        ),
        migrations.AlterField(
            model_name='matchitem',
            name='payment_request',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='recon_items', to='payments.paymentrequest'),
        ),
        migrations.AlterField(
            model_name='matchitem',
            name='refund',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='recon_items', to='payments.refund'),
        ),
        migrations.AlterField(
            model_name='matchitem',
            name='transaction',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='recon_items', to='statements.transaction'),
        ),
        vendor_sql({"postgresql": POSTGRES}, {"postgresql": POSTGRES_REVERSE}),
    ]
