"""The search's trigram index over the three texts only, and the counterparty's
account in a plain B-tree (PostgreSQL only, as 0014).

The search compares the counterparty account with `=`: 0014 answered that arm
from the trigram index too, at about ten trigrams per imported line (a quarter
of the index's entries, and of its upkeep on every imported line). A B-tree
answers `=` with one entry per line, and only for lines that have an account
(the search never looks for an empty one, so the planner proves the partial
index fits). Measured on a 1.1 M-line ledger, 100,000 lines inserted: the
database's CPU 2.45 -> 2.15 s, WAL 215 -> 197 MB; the free-text search uses the
same plan, that arm by the B-tree.

The new index is built under a temporary name, then takes the old one's name, so
that `DROP INDEX txn_search_trgm_idx` still drops the search's trigram index (a
ledger without it, dropped to import faster, is left without either index).
Each step is CONCURRENTLY (the migration is not atomic): a live ledger keeps
taking imports and searches meanwhile.
"""

from django.db import migrations

INDEX = "txn_search_trgm_idx"
BUILDING = "txn_search_trgm_new"
ACCOUNT_INDEX = "txn_counterparty_account_idx"
TEXTS = (
    "UPPER(counterparty_name::text) gin_trgm_ops, "
    "UPPER(reference::text) gin_trgm_ops, "
    "UPPER(description::text) gin_trgm_ops"
)


def _swap(schema_editor, columns: str) -> None:
    """Build the trigram index over `columns` and give it the search index's name."""
    run = schema_editor.execute
    run(f"DROP INDEX CONCURRENTLY IF EXISTS {BUILDING}")
    run(
        f"CREATE INDEX CONCURRENTLY {BUILDING} "
        f"ON statements_transaction USING gin ({columns})"
    )
    run(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
    run(f"ALTER INDEX {BUILDING} RENAME TO {INDEX}")


def _searched(schema_editor) -> bool:
    """Whether the ledger has the search's trigram index (or this migration's
    half-built one): a deployment that dropped it to import faster keeps it so."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass(%s) IS NOT NULL OR to_regclass(%s) IS NOT NULL",
            [INDEX, BUILDING],
        )
        return cursor.fetchone()[0]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql" or not _searched(schema_editor):
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {ACCOUNT_INDEX} "
        "ON statements_transaction (counterparty_account) "
        "WHERE NOT (counterparty_account = '')"
    )
    _swap(schema_editor, TEXTS)
    # the planner costs the new expressions from statistics only ANALYZE gathers
    schema_editor.execute("ANALYZE statements_transaction")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    if _searched(schema_editor):
        _swap(schema_editor, f"{TEXTS}, counterparty_account gin_trgm_ops")
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {ACCOUNT_INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("statements", "0014_transaction_search_trigram")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
