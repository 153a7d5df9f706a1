"""The Transactions page's free-text search (`q=`) as a trigram index, on
PostgreSQL only.

The search is `UPPER(column::text) LIKE UPPER('%…%')` over the counterparty,
the reference and the description (Django's icontains), or the counterparty's
account or the bank's id exactly; no B-tree can serve the LIKEs, so a rare word
read every line of a million-line ledger, several times over (the page, its
count, its totals). One GIN index over the same three expressions and the
counterparty account (pg_trgm answers `=` too) lets PostgreSQL answer every arm
of the OR from an index (the bank's id from (account, external_id)), with the
same results. Built CONCURRENTLY (the migration is not atomic)
so a live ledger keeps taking imports while it builds; pg_trgm is a trusted
extension (PostgreSQL 13+), so the database owner may create it. SQLite keeps
the plain scan.
"""

from django.db import migrations

INDEX = "txn_search_trgm_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} "
        "ON statements_transaction USING gin ("
        "UPPER(counterparty_name::text) gin_trgm_ops, "
        "UPPER(reference::text) gin_trgm_ops, "
        "UPPER(description::text) gin_trgm_ops, "
        "counterparty_account gin_trgm_ops)"
    )
    # the planner knows an expression's selectivity only once ANALYZE has read
    # it: before that it kept the sequential scan
    schema_editor.execute("ANALYZE statements_transaction")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("statements", "0013_ledger_channel_value_date_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
