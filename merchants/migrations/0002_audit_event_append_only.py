"""Database triggers that refuse to change an audit event, whatever the client."""

from django.db import migrations

from core.migration_sql import vendor_sql

SQLITE = [
    """CREATE TRIGGER merchants_auditevent_no_update BEFORE UPDATE ON merchants_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS merchants_auditevent_no_update"]

POSTGRES = [
    """CREATE OR REPLACE FUNCTION merchants_auditevent_refuse() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER merchants_auditevent_no_change BEFORE UPDATE OR DELETE
       ON merchants_auditevent FOR EACH ROW EXECUTE FUNCTION merchants_auditevent_refuse()""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS merchants_auditevent_no_change ON merchants_auditevent",
    "DROP FUNCTION IF EXISTS merchants_auditevent_refuse()",
]


class Migration(migrations.Migration):
    dependencies = [("merchants", "0001_initial")]

    operations = [
        vendor_sql(
            {"sqlite": SQLITE, "postgresql": POSTGRES},
            {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE},
        )
    ]
