"""The ledger's three foreign-key constraints (merchant, account, import batch)
become one rule on the pair, held by PostgreSQL triggers: (account_id,
merchant_id) must be an account's (id, merchant_id), which holds what the two
tenant keys held and also that a line's merchant is its account's; and an account
with lines can be neither deleted nor moved to another merchant.

On SQLite, the embedded default for trying Tonle out, the application holds the
rule (bulk writes take the merchant from the account; Django's PROTECT refuses the
deletes): a row trigger there costs more than the whole import's validation, and
SQLite cannot add a constraint to an existing table.
tests/statements/test_ledger_keys.py checks the PostgreSQL triggers.
"""

import django.db.models.deletion
from django.db import migrations, models

from core.migration_sql import vendor_sql

# Checked per statement over the lines it wrote (a transition table), not per
# line: PostgreSQL runs a FOREIGN KEY's check as one query for every inserted row,
# a third of a 100,000-line import. The accounts named are locked FOR KEY SHARE,
# as that check does, so an account cannot be deleted under an import; the
# account-side trigger runs after the row lock, when (READ COMMITTED) its query
# sees any lines committed meanwhile.
POSTGRES = [
    """CREATE FUNCTION statements_transaction_accounts_check() RETURNS trigger AS $$
       BEGIN
         PERFORM 1 FROM merchants_account a
          WHERE a.id IN (SELECT DISTINCT n.account_id FROM new_lines n)
            FOR KEY SHARE;
         IF EXISTS (SELECT 1 FROM new_lines n
                     WHERE NOT EXISTS (SELECT 1 FROM merchants_account a
                                        WHERE a.id = n.account_id
                                          AND a.merchant_id = n.merchant_id)) THEN
           RAISE EXCEPTION 'ledger line for no such account of its merchant'
             USING ERRCODE = 'foreign_key_violation';
         END IF;
         RETURN NULL;
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER statements_transaction_accounts_insert
       AFTER INSERT ON statements_transaction
       REFERENCING NEW TABLE AS new_lines
       FOR EACH STATEMENT EXECUTE FUNCTION statements_transaction_accounts_check()""",
    """CREATE TRIGGER statements_transaction_accounts_update
       AFTER UPDATE ON statements_transaction
       REFERENCING NEW TABLE AS new_lines
       FOR EACH STATEMENT EXECUTE FUNCTION statements_transaction_accounts_check()""",
    """CREATE FUNCTION merchants_account_lines_check() RETURNS trigger AS $$
       BEGIN
         IF (TG_OP = 'DELETE' OR NEW.id <> OLD.id
             OR NEW.merchant_id <> OLD.merchant_id)
            AND EXISTS (SELECT 1 FROM statements_transaction t
                         WHERE t.account_id = OLD.id) THEN
           RAISE EXCEPTION 'the account has ledger lines'
             USING ERRCODE = 'foreign_key_violation';
         END IF;
         RETURN NULL;
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER merchants_account_lines
       AFTER DELETE OR UPDATE OF id, merchant_id ON merchants_account
       FOR EACH ROW EXECUTE FUNCTION merchants_account_lines_check()""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS merchants_account_lines ON merchants_account",
    "DROP FUNCTION IF EXISTS merchants_account_lines_check()",
    "DROP TRIGGER IF EXISTS statements_transaction_accounts_update "
    "ON statements_transaction",
    "DROP TRIGGER IF EXISTS statements_transaction_accounts_insert "
    "ON statements_transaction",
    "DROP FUNCTION IF EXISTS statements_transaction_accounts_check()",
]


class Migration(migrations.Migration):

    dependencies = [
        ('merchants', '0002_audit_event_append_only'),
        ('statements', '0006_ledger_fewer_indexes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='transaction',
            name='txn_bakong_hash_idx',
        ),
        migrations.AlterField(
            model_name='transaction',
            name='account',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='transactions', to='merchants.account'),
        ),
        migrations.AlterField(
            model_name='transaction',
            name='import_batch',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, help_text='The statement file this line came from (source file)', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='lines', to='statements.importbatch'),
        ),
        migrations.AlterField(
            model_name='transaction',
            name='merchant',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='transactions', to='merchants.merchant'),
        ),
        migrations.AddIndex(
            model_name='transaction',
            index=models.Index(condition=models.Q(('bakong_hash', ''), _negated=True), fields=['bakong_hash'], name='txn_bakong_hash_idx'),
        ),
        vendor_sql({"postgresql": POSTGRES}, {"postgresql": POSTGRES_REVERSE}),
    ]
