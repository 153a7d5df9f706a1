"""The insert checks of a run's matches, items and exceptions (migrations 0005
and 0008) plan without JIT: each probe of a run's thousands of keys costs more
than PostgreSQL's jit_above_cost, and compiling it took 2-4 ms a query (8 ms
of an invoice month's save) for queries that run in about 20 ms.

A later CREATE OR REPLACE of these functions drops the setting: restate it.
"""

from django.db import migrations

from core.migration_sql import vendor_sql

FUNCTIONS = [
    "reconciliation_match_keys_check()",
    "reconciliation_matchitem_keys_check()",
    "reconciliation_reconciliationexception_keys_check()",
]


class Migration(migrations.Migration):
    dependencies = [
        ("reconciliation", "0008_exception_keys_as_set_checks"),
    ]

    operations = [
        vendor_sql(
            {"postgresql": [f"ALTER FUNCTION {f} SET jit = off" for f in FUNCTIONS]},
            {"postgresql": [f"ALTER FUNCTION {f} RESET jit" for f in FUNCTIONS]},
        ),
    ]
