"""The delete triggers of migration 0004 probe the item index once per deleted
row, instead of joining the deleted rows to the items as the planner likes.

0004's check, EXISTS over `gone JOIN items`, let the planner pick a nested loop
over every item for each deleted row whenever it expected a quick first match:
a delete of 100 ledger lines (the ORM's batch) read the 137,000 items of the
scale database 100 times, 0.7 s a statement, and one statement deleting tens of
thousands of lines ran for minutes. A LATERAL probe with LIMIT 1 can only be an
index look-up per deleted row (each key has an index, 0003's partial ones
included): 0.8 ms for the 100 lines, 53 ms for the large delete. Same errors,
same rule; deletes of rows still named are refused as before.
"""

import importlib

from django.db import migrations

from core.migration_sql import function_as_created, vendor_sql

_0004 = importlib.import_module(
    "reconciliation.migrations.0004_foreign_keys_as_set_checks"
)


def _named(ref: str) -> list[tuple[str, str]]:
    return [(t, c) for t, keys in _0004.KEYS.items() for c, r in keys if r == ref]


def _probe_check(ref: str) -> str:
    found = " OR ".join(
        f"EXISTS (SELECT 1 FROM gone o, LATERAL (SELECT 1 FROM {t} i"  # noqa: S608
        f" WHERE i.{c} = o.id LIMIT 1) named)"
        for t, c in _named(ref)
    )
    return f"""CREATE OR REPLACE FUNCTION {ref}_named_check() RETURNS trigger AS $$
           BEGIN
             IF {found} THEN
               RAISE EXCEPTION '{ref} row still named by a reconciliation match'
                 USING ERRCODE = 'foreign_key_violation';
             END IF;
             RETURN NULL;
           END; $$ LANGUAGE plpgsql"""


POSTGRES = [_probe_check(ref) for ref in _0004.REFERENCED]
POSTGRES_REVERSE = [
    function_as_created(_0004._referenced_check(ref), f"{ref}_named_check")
    for ref in _0004.REFERENCED
]


class Migration(migrations.Migration):
    dependencies = [
        ("reconciliation", "0006_exception_explained"),
    ]

    operations = [
        vendor_sql({"postgresql": POSTGRES}, {"postgresql": POSTGRES_REVERSE}),
    ]
