"""The insert triggers of migration 0004 read a statement's written rows once,
not twice per key.

0004's check scanned the transition table twice for each key (the rows to lock,
then the distinct values to count): twelve scans of a run's 30,000 items, a
table larger than work_mem and so read back from a temporary file each time,
even for the keys an invoice month leaves empty. Here one scan gathers each
key's distinct values into an array; a key with none is skipped; the rest are
locked FOR KEY SHARE and counted as before, in the same order, with the same
errors. Each value is looked up by the referenced table's primary key (a
lateral join): `id = ANY (array)` let the planner read the whole table, every
merchant's rows, for a run's few thousand keys. The update triggers (a person's few rows) keep 0004's form.
"""

import importlib

from django.db import migrations

from core.migration_sql import function_as_created, vendor_sql

_0004 = importlib.import_module(
    "reconciliation.migrations.0004_foreign_keys_as_set_checks"
)
KEYS = _0004.KEYS


def _one_scan_check(table: str) -> str:
    keys = KEYS[table]
    gathered = ",\n".join(
        f"array_agg(DISTINCT n.{column}) FILTER (WHERE n.{column} IS NOT NULL)"
        for column, _ in keys
    )
    names = ", ".join(f"k_{column}" for column, _ in keys)
    checks = "\n".join(
        f"""IF k_{column} IS NOT NULL AND (SELECT count(*)
                FROM unnest(k_{column}) AS k(id), LATERAL (SELECT 1 FROM {ref} r
                  WHERE r.id = k.id FOR KEY SHARE) locked)
              <> cardinality(k_{column}) THEN
              RAISE EXCEPTION '{table}.{column} names no {ref} row'
                USING ERRCODE = 'foreign_key_violation';
            END IF;"""
        for column, ref in keys
    )
    declared = "\n".join(f"k_{column} bigint[];" for column, _ in keys)
    return f"""CREATE OR REPLACE FUNCTION {table}_keys_check() RETURNS trigger AS $$
           DECLARE
             {declared}
           BEGIN
             SELECT {gathered} INTO {names} FROM written n;
             {checks}
             RETURN NULL;
           END; $$ LANGUAGE plpgsql"""


POSTGRES = [_one_scan_check(table) for table in KEYS]
POSTGRES_REVERSE = [
    function_as_created(_0004._written_check(table), f"{table}_keys_check")
    for table in KEYS
]


class Migration(migrations.Migration):
    dependencies = [
        ("reconciliation", "0004_foreign_keys_as_set_checks"),
    ]

    operations = [
        vendor_sql({"postgresql": POSTGRES}, {"postgresql": POSTGRES_REVERSE}),
    ]
