"""Database triggers that refuse to change an audit event, whatever the client."""

from django.db import migrations

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


def _run(statements_by_vendor):
    def apply(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("merchants", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}),
        )
    ]
