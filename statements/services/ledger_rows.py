"""Ledger lines written in bulk, for files, feeds and the demo.

Drafts become row tuples in the column order below and are written in large
batches: `transaction_rows_insert` leaves a line whose (account, external id) is
already there alone (SQLite `INSERT … ON CONFLICT DO NOTHING`, PostgreSQL `COPY` into
a temporary table then `INSERT … ON CONFLICT DO NOTHING`); `LedgerCopy` streams rows
straight into the ledger with PostgreSQL `COPY` and lets a duplicate raise, for a
caller that has already dropped the lines the ledger holds (`LedgerIds` tells it
which).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from core.money import rate_to_wire
from merchants.models import Account
from statements.canonical import CANONICAL_LEDGER_FIELDS
from statements.imports import LineDraft
from statements.models import Transaction

SQLITE_BATCH = 5_000
# the columns a draft fills: the canonical CSV's, then the line's flag
_DRAFT_FIELDS = [*CANONICAL_LEDGER_FIELDS, "fx_mismatch"]


def _minor(value: Decimal | None) -> int | None:
    return None if value is None else int(value.scaleb(2))


@dataclass(frozen=True)
class RowShape:
    """The ledger columns a bulk write fills, and the draft -> row tuple for them."""

    table: str
    columns: list[str]
    row_of: Callable[[LineDraft], tuple]

    @property
    def column_list(self) -> str:
        qn = connection.ops.quote_name
        return ", ".join(qn(c) for c in self.columns)


def row_shape(
    *, account: Account, source: str, import_batch_id: int | None = None
) -> RowShape:
    by_name = {f.name: f for f in Transaction._meta.concrete_fields}
    constants: dict[str, Any] = {
        "merchant": account.merchant_id,
        "account": account.pk,
        "source": source,
        "import_batch": import_batch_id,
        "created_at": timezone.now(),
    }
    # every other column (one another app may add) gets its model default
    rest = [
        f
        for f in Transaction._meta.concrete_fields
        if not f.primary_key and f.name not in _DRAFT_FIELDS
    ]
    tail = tuple(
        f.get_db_prep_save(
            constants[f.name] if f.name in constants else f.get_default(), connection
        )
        for f in rest
    )
    columns = [by_name[name].column for name in _DRAFT_FIELDS] + [
        f.column for f in rest
    ]
    postgres = connection.vendor == "postgresql"
    utc = dt.UTC

    def row_of(d: LineDraft) -> tuple:
        posted = d.posted_at
        if not postgres:  # Django's SQLite form: naive UTC text
            posted = posted.astimezone(utc).replace(tzinfo=None).isoformat(" ")
        rate = d.fx_rate
        # in _DRAFT_FIELDS' order
        return (
            d.external_id,
            posted,
            d.value_date if postgres else d.value_date.isoformat(),
            int(d.amount.scaleb(2)),
            d.currency,
            d.channel,
            d.counterparty_name,
            d.counterparty_account,
            d.reference,
            d.bakong_hash,
            d.description,
            _minor(d.balance_after),
            _minor(d.original_amount),
            d.original_currency,
            rate_to_wire(rate),
            _minor(d.fee),
            d.biller_category,
            d.fx_mismatch,
            *tail,
        )

    return RowShape(Transaction._meta.db_table, columns, row_of)


def transaction_rows_insert(
    *,
    account: Account,
    lines: Iterable[LineDraft],
    source: str,
    import_batch_id: int | None = None,
) -> int:
    """Write drafts as ledger lines in big batches; a line whose (account, external
    id) exists is left alone, any other constraint violation raises. Returns how
    many were inserted."""
    shape = row_shape(account=account, source=source, import_batch_id=import_batch_id)
    # rows are built as they are written, so only one batch of them is in memory
    rows = (shape.row_of(d) for d in lines)
    if connection.vendor == "postgresql":
        return _insert_postgres(shape, rows)
    return insert_ignoring_duplicates(shape, rows)


def insert_ignoring_duplicates(shape: RowShape, rows: Iterator[tuple]) -> int:
    qn = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(shape.columns))
    # only a uniqueness conflict is skipped (SQLite's OR IGNORE would also drop a
    # row that breaks a NOT NULL or CHECK constraint without a word)
    sql = (
        f"INSERT INTO {qn(shape.table)} ({shape.column_list}) "  # noqa: S608
        f"VALUES ({marks}) ON CONFLICT DO NOTHING"
    )
    inserted = 0
    with connection.cursor() as cursor:
        while chunk := list(itertools.islice(rows, SQLITE_BATCH)):
            cursor.executemany(sql, chunk)
            inserted += max(cursor.rowcount, 0)
    return inserted


def _insert_postgres(shape: RowShape, rows: Iterator[tuple]) -> int:
    """COPY into a temp table shaped like the ledger, then one INSERT … SELECT …
    ON CONFLICT DO NOTHING (the unique key decides; rowcount is exact)."""
    qn = connection.ops.quote_name
    cols = shape.column_list
    temp = "tonle_import_lines"
    with connection.cursor() as cursor:
        _commit_without_waiting(cursor)
        cursor.execute(f"DROP TABLE IF EXISTS {temp}")
        cursor.execute(
            f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {cols} FROM {qn(shape.table)} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {temp} ({cols}) FROM STDIN") as copy:  # noqa: S608
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {qn(shape.table)} ({cols}) SELECT {cols} FROM {temp} "  # noqa: S608
            "ON CONFLICT DO NOTHING"
        )
        inserted = cursor.rowcount
        cursor.execute(f"DROP TABLE IF EXISTS {temp}")
    return inserted


class LedgerCopy:
    """PostgreSQL only: COPY drafts straight into the ledger, in binary (half the
    client's work of text). Successive `write`s go into one COPY until `close`
    (or leaving the `with` block) ends it: the connection can run nothing else
    meanwhile, and each COPY's start and end leave the database idle for a round
    trip. A line already there raises IntegrityError (caused by psycopg's
    UniqueViolation), at the latest when the COPY ends: the caller has dropped the
    lines it knew of, so that means a concurrent writer, and it takes the
    `transaction_rows_insert` path instead."""

    def __init__(self, shape: RowShape) -> None:
        self.shape = shape
        qn = connection.ops.quote_name
        self.sql = (
            f"COPY {qn(shape.table)} ({shape.column_list}) "  # noqa: S608
            "FROM STDIN (FORMAT BINARY)"
        )
        with connection.cursor() as cursor:
            _commit_without_waiting(cursor)
            # binary COPY needs each column's type oid, which Django's
            # introspection reads from the table itself
            columns = connection.introspection.get_table_description(
                cursor, shape.table
            )
        oids = {column.name: column.type_code for column in columns}
        self.types = [oids[column] for column in shape.columns]
        self._open: ExitStack | None = None
        self._write_row: Callable[[tuple], None] | None = None

    def write(self, drafts: Iterable[LineDraft]) -> int:
        if self._open is None:
            with ExitStack() as stack:
                # errors as Django's (IntegrityError and kin), as for any query
                stack.enter_context(connection.wrap_database_errors)
                cursor = stack.enter_context(connection.cursor())
                copy = stack.enter_context(cursor.cursor.copy(self.sql))
                copy.set_types(self.types)
                self._write_row = copy.write_row
                self._open = stack.pop_all()
        row_of, write = self.shape.row_of, self._write_row
        count = 0
        for draft in drafts:
            write(row_of(draft))
            count += 1
        return count

    def close(self) -> None:
        """End the COPY, if one is open: the database checks its last rows now."""
        if self._open is not None:
            stack, self._open = self._open, None
            stack.close()

    def __enter__(self) -> LedgerCopy:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        # an exception abandons the open COPY (psycopg tells the server why)
        if self._open is not None:
            stack, self._open = self._open, None
            stack.__exit__(*exc_info)


def ledger_ids_present(account: Account, ids: Iterable[str]) -> set[str]:
    """Which of `ids` the account's ledger holds, in one query (a writer asking
    batch after batch uses LedgerIds, whose gap spares most of them)."""
    wanted = list(set(ids))
    return _ids_present(account, wanted) if wanted else set()


def ledger_lines_present(
    account: Account, ids: Iterable[str]
) -> dict[str, tuple[int, dt.datetime]]:
    """For each of `ids` the account's ledger holds: (amount in minor units,
    posted_at), in one query; the ids it does not hold are absent."""
    wanted = list(set(ids))
    return _lines_present(account, wanted) if wanted else {}


def ledger_hashes_present(
    account: Account, hashes: Iterable[str], *, excluding_batch_id: int | None
) -> set[str]:
    """Which of `hashes` (Bakong hashes, none empty) the account's lines carry,
    leaving out the lines of one import batch, in one query."""
    wanted = sorted(set(hashes))
    if not wanted:
        return set()
    lines = Transaction.objects.filter(account=account)
    if connection.vendor != "postgresql":
        lines = lines.filter(bakong_hash__in=wanted)
        if excluding_batch_id is not None:  # exclude(x=None) would drop NULL rows
            lines = lines.exclude(import_batch_id=excluding_batch_id)
        return set(lines.values_list("bakong_hash", flat=True))
    # Looked up by the hashes alone, in the partial hash index (a few pages per
    # hash), and only then narrowed to the account: OFFSET 0 keeps the planner
    # from taking the account's index instead, which reads every line of the
    # account (133 ms a chunk for a 113,000-line account; during an import,
    # also every line the import has written so far)
    table = connection.ops.quote_name(Transaction._meta.db_table)
    match, param = text_in(wanted)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT hash FROM (SELECT bakong_hash AS hash, account_id, "  # noqa: S608
            f"import_batch_id FROM {table} WHERE bakong_hash {match} "
            "AND NOT bakong_hash = '' OFFSET 0) AS carried "
            "WHERE account_id = %s AND import_batch_id IS DISTINCT FROM %s",
            [param, account.pk, excluding_batch_id],
        )
        return {hash_ for (hash_,) in cursor.fetchall()}


class LedgerIds:
    """Which bank ids an account's ledger holds, asked batch after batch while one
    writer adds the lines it was told were missing.

    Each answer is one query however many ids there are, or none: when a batch's
    ids lie between the ledger's neighbouring ids (a new period's statement, in
    whichever order the bank lists it), two index probes find that gap and later
    batches inside it need no query.
    The lines written meanwhile fall in the gap too, but they are the writer's own,
    whose ids never come again; another writer's line is the unique key's to
    refuse."""

    def __init__(
        self, account: Account, *, before_query: Callable[[], None] | None = None
    ) -> None:
        self.account = account
        self.before_query = before_query or (lambda: None)
        self.gap: tuple[str | None, str | None] | None = None  # (after, before)

    def present(self, ids: Iterable[str]) -> set[str]:
        wanted = list(set(ids))
        if not wanted:
            return set()
        if _ids_in_code_point_order():
            low, high = min(wanted), max(wanted)
            if self._in_gap(low, high):
                return set()
            self.before_query()
            if self._find_gap(low, high):
                return set()
        self.before_query()
        return _ids_present(self.account, wanted)

    def present_lines(self, ids: Iterable[str]) -> dict[str, tuple[int, dt.datetime]]:
        """As `present`, with each held line's (amount in minor units, posted_at),
        so a caller can compare what it was about to skip; read only for the ids
        the ledger holds (none at all inside the gap)."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        if _ids_in_code_point_order():
            low, high = min(wanted), max(wanted)
            if self._in_gap(low, high):
                return {}
            self.before_query()
            if self._find_gap(low, high):
                return {}
        self.before_query()
        return _lines_present(self.account, wanted)

    def _in_gap(self, low: str, high: str) -> bool:
        if self.gap is None:
            return False
        after, before = self.gap
        return (after is None or low > after) and (before is None or high < before)

    def _find_gap(self, low: str, high: str) -> bool:
        before = _neighbour_id(self.account, low, above=True)
        if before is not None and before <= high:
            return False
        self.gap = (_neighbour_id(self.account, low, above=False), before)
        return True


def _neighbour_id(account: Account, low: str, *, above: bool) -> str | None:
    """The account's first id from `low` up, or its last id below `low`: read off
    the (account, external id) key, which the ORDER BY makes the planner use even
    while a write's own lines are not yet in its statistics."""
    lines = Transaction.objects.filter(account=account)
    if above:
        lines = lines.filter(external_id__gte=low).order_by("external_id")
    else:
        lines = lines.filter(external_id__lt=low).order_by("-external_id")
    return lines.values_list("external_id", flat=True).first()


def text_in(values: list[str]) -> tuple[str, Any]:
    """`column <match>` against many texts as one parameter: (match, param)."""
    if connection.vendor == "postgresql":
        # one text split by the server is several times quicker to send and read
        # than an array literal of 100,000 quoted strings
        if any("\n" in value for value in values):
            return "= ANY(%s::varchar[])", values
        return "= ANY(string_to_array(%s, E'\\n'))", "\n".join(values)
    return "IN (SELECT value FROM json_each(%s))", json.dumps(values)


def _ids_present(account: Account, wanted: list[str]) -> set[str]:
    return set(_rows_present(account, wanted, "external_id"))


def _lines_present(
    account: Account, wanted: list[str]
) -> dict[str, tuple[int, dt.datetime]]:
    if connection.vendor == "postgresql":
        rows = _rows_present(account, wanted, "external_id, amount, posted_at")
        return {external_id: (amount, posted) for external_id, amount, posted in rows}
    # SQLite keeps naive UTC text; read as text (no converter per row) and made
    # a time here, in C
    utc, parse = dt.UTC, dt.datetime.fromisoformat
    rows = _rows_present(
        account, wanted, "external_id, amount, CAST(posted_at AS TEXT)"
    )
    return {
        external_id: (amount, parse(posted).replace(tzinfo=utc))
        for external_id, amount, posted in rows
    }


def _rows_present(account: Account, wanted: list[str], columns: str) -> list:
    """`columns` of the account's lines whose external id is among `wanted`."""
    table = connection.ops.quote_name(Transaction._meta.db_table)
    match, param = text_in(wanted)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {table} "  # noqa: S608
            f"WHERE account_id = %s AND external_id {match}",
            [account.pk, param],
        )
        if columns == "external_id":
            return [external_id for (external_id,) in cursor.fetchall()]
        return cursor.fetchall()


_BYTE_ORDER_COLLATIONS = {"C", "POSIX", "C.UTF-8", "C.utf8", "ucs_basic"}


def _ids_in_code_point_order() -> bool:
    """Whether the database sorts external ids as Python sorts str (by code point),
    so that Python's min and max bound them there too. SQLite compares text
    byte by byte; PostgreSQL does so under the C collations, while a language's
    collation (en_US…) has its own order and takes the plain look-up."""
    if connection.vendor != "postgresql":
        return True
    key = connection.settings_dict["NAME"]
    if key not in _collation_order:
        # PostgreSQL 14 has only libc collations and no provider column
        provider = "datlocprovider" if connection.pg_version >= 150000 else "'c'"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {provider}, datcollate FROM pg_database "  # noqa: S608
                "WHERE datname = current_database()"
            )
            provider, collate = cursor.fetchone()
        _collation_order[key] = provider == "c" and collate in _BYTE_ORDER_COLLATIONS
    return _collation_order[key]


_collation_order: dict[str, bool] = {}


def _commit_without_waiting(cursor) -> None:
    # The transaction (lines, batch row, audit event) is all or nothing either way;
    # not waiting for its WAL flush only means a crash in the next few hundred ms
    # loses the whole write, which is then simply made again.
    cursor.execute("SET LOCAL synchronous_commit TO OFF")
