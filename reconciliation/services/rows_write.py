"""Many rows written at once, with their ids chosen first: a run saves tens of
thousands of matches and their items, and the ORM's bulk_create spends most of
the run preparing each value one by one. Values here are already what the
database takes (integers for amounts, adapted dates, JSON text)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models

BATCH = 5_000


def ids_allocate(model: type[models.Model], count: int) -> list[int]:
    """`count` fresh primary keys for `model`, taken inside the caller's
    transaction (PostgreSQL: from the id sequence; SQLite, one writer at a time:
    after the table's largest id)."""
    if count == 0:
        return []
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) "
                "FROM generate_series(1, %s)",
                [table, column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        qn = connection.ops.quote_name
        cursor.execute(f"SELECT COALESCE(MAX({qn(column)}), 0) FROM {qn(table)}")  # noqa: S608
        start = cursor.fetchone()[0] + 1
    return list(range(start, start + count))


def rows_insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[tuple],
) -> None:
    """Write the rows (tuples in `columns` order, field names): PostgreSQL
    `COPY`, SQLite batches of INSERT."""
    if not rows:
        return
    qn = connection.ops.quote_name
    by_name = {f.name: f for f in model._meta.concrete_fields}
    names = [by_name[name].column for name in columns]
    if connection.vendor == "postgresql":
        sql = (
            f"COPY {qn(model._meta.db_table)} "  # noqa: S608
            f"({', '.join(qn(n) for n in names)}) FROM STDIN"
        )
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(qn(n) for n in names)}) VALUES ({', '.join(['%s'] * len(names))})"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start : start + BATCH])
