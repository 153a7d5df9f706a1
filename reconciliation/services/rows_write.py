"""Many rows written at once, with their ids chosen first: a run saves tens of
thousands of matches and their items, and the ORM's bulk_create spends most of
the run preparing each value one by one. Values here are already what the
database takes (integers for amounts, adapted dates, JSON text)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice

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
            # the sequence looked up once: inside nextval() it was looked up
            # per id, 5x the cost of the ids themselves
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
            (sequence,) = cursor.fetchone()
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                [sequence, count],
            )
            return [row[0] for row in cursor.fetchall()]
        qn = connection.ops.quote_name
        cursor.execute(f"SELECT COALESCE(MAX({qn(column)}), 0) FROM {qn(table)}")  # noqa: S608
        start = cursor.fetchone()[0] + 1
    return list(range(start, start + count))


def rows_insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[tuple],
) -> None:
    """Write the rows (tuples in `columns` order, field names): PostgreSQL
    `COPY`, SQLite batches of INSERT. `rows` may be a generator, so a large
    write need not sit in memory whole."""
    qn = connection.ops.quote_name
    names = _columns(model, columns)
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
    _executemany(sql, rows)


def rows_upsert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[tuple],
    *,
    unique: Sequence[str],
    update: Sequence[str],
    only_if: tuple[str, str],
) -> None:
    """Insert the rows; a row whose `unique` fields are taken instead sets the
    `update` fields of the one there, when its field `only_if[0]` equals
    `only_if[1]` (otherwise the row there stays as it is). One statement:
    PostgreSQL copies the rows into a temporary table and upserts from it;
    SQLite runs the upsert per row, batched."""
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    names = ", ".join(qn(n) for n in _columns(model, columns))
    conflict = ", ".join(qn(n) for n in _columns(model, unique))
    sets = ", ".join(f"{qn(n)} = excluded.{qn(n)}" for n in _columns(model, update))
    (guard,) = _columns(model, (only_if[0],))
    on_conflict = (
        f"ON CONFLICT ({conflict}) DO UPDATE SET {sets} WHERE {table}.{qn(guard)} = %s"
    )
    if connection.vendor == "postgresql":
        scratch = qn(f"{model._meta.db_table}_upsert")
        with connection.cursor() as cursor:
            # the column types come from the table itself (jsonb, bigint, text)
            cursor.execute(
                f"CREATE TEMPORARY TABLE {scratch} AS "  # noqa: S608
                f"SELECT {names} FROM {table} WITH NO DATA"
            )
            with cursor.cursor.copy(f"COPY {scratch} ({names}) FROM STDIN") as copy:  # noqa: S608
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM {scratch} "  # noqa: S608
                + on_conflict,
                [only_if[1]],
            )
            cursor.execute(f"DROP TABLE {scratch}")
        return
    sql = (
        f"INSERT INTO {table} ({names}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))}) " + on_conflict
    )
    _executemany(sql, ((*row, only_if[1]) for row in rows))


def _columns(model: type[models.Model], columns: Sequence[str]) -> list[str]:
    by_name = {f.name: f for f in model._meta.concrete_fields}
    return [by_name[name].column for name in columns]


def _executemany(sql: str, rows: Iterable[tuple]) -> None:
    rows = iter(rows)
    with connection.cursor() as cursor:
        while batch := list(islice(rows, BATCH)):
            cursor.executemany(sql, batch)
