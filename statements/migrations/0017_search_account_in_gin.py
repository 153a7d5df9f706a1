"""The search's counterparty account back in the search's GIN index, as one whole
value per line (btree_gin), and its B-tree gone (PostgreSQL only, as 0014).

0014 held the account as trigrams (about ten entries per line); 0015 moved its
`=` to a partial B-tree, one entry per line but at a random place in a 1 M-line
index: 0.14 s of the database's CPU per 100,000 imported lines. btree_gin's text
class answers `=` from one GIN entry per line, which goes in with the line's
trigrams, batched through the same pending list (about 0.025 s per 100,000
lines, as one trigram). Measured on bench/seed_scale.py's 1 M-line ledger,
100,000 lines copied in (5 runs each): the database's CPU 1.65 -> 1.56 s; the
search runs the same plan, the account's arm by this index (a few ms).
btree_gin is a trusted extension (PostgreSQL 13+), as pg_trgm is.

As in 0015 the index is built under a temporary name and takes the search
index's name, each step CONCURRENTLY (the migration is not atomic); a ledger
whose search index was dropped (to import faster) is left as it is.
"""

import importlib

from django.db import migrations

# 0015's index swap and constants, as that migration left them
_0015 = importlib.import_module("statements.migrations.0015_search_trigram_text_only")
ACCOUNT_INDEX = _0015.ACCOUNT_INDEX
TEXTS = _0015.TEXTS
_swap, _searched = _0015._swap, _0015._searched


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql" or not _searched(schema_editor):
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    _swap(schema_editor, f"{TEXTS}, counterparty_account")
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {ACCOUNT_INDEX}")
    # the planner costs the new index from statistics only ANALYZE gathers
    schema_editor.execute("ANALYZE statements_transaction")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql" or not _searched(schema_editor):
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {ACCOUNT_INDEX} "
        "ON statements_transaction (counterparty_account) "
        "WHERE NOT (counterparty_account = '')"
    )
    _swap(schema_editor, TEXTS)
    # (btree_gin stays: dropping an extension is not this migration's to do)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("statements", "0016_ledger_accounts_check_one_scan")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
