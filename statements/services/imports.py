"""Statement files into the ledger: all or nothing, each file once per account, lines
already present skipped and counted.

Fast path: validated drafts become row tuples written in large batches — SQLite
`INSERT … ON CONFLICT DO NOTHING` through executemany, PostgreSQL `COPY` into a
temporary table then `INSERT … ON CONFLICT DO NOTHING` — so the unique (account,
external id) key, not a race-prone pre-check, is what finally keeps a line single.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.exceptions import Conflict, InvalidInput
from core.periods import zone_for_currency
from merchants.models import Account, Merchant
from merchants.services import audit_event_record
from statements.imports import PRESETS, LineDraft, ParseResult, parse_table, read_table
from statements.imports.presets import MAPPABLE_FIELDS
from statements.models import (
    CANONICAL_LEDGER_FIELDS,
    ImportBatch,
    ImportStatus,
    Source,
    Transaction,
)

logger = logging.getLogger("tonle.statements")

SQLITE_BATCH = 5_000
ID_CHUNK = 900
PREVIEW_ROWS = 10


@dataclass(frozen=True)
class ImportResult:
    inserted: int
    skipped: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    batch_id: int | None = None
    rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "inserted": self.inserted,
            "skipped": self.skipped,
            "errors": self.errors,
        }


@dataclass(frozen=True)
class ImportPreview:
    """What an import would do, computed without writing a line."""

    parse: ParseResult
    sample: list[LineDraft]
    errors: list[dict[str, Any]]
    duplicate_of: ImportBatch | None


def _limits() -> tuple[int, int]:
    return settings.MAX_UPLOAD_MB * 1024 * 1024, settings.MAX_IMPORT_ROWS


def _sha256(file_bytes: bytes) -> str:
    return hashlib.sha256(file_bytes).hexdigest()


def _already_imported(account: Account, sha256: str) -> ImportBatch | None:
    return ImportBatch.objects.filter(
        account=account, sha256=sha256, status=ImportStatus.IMPORTED
    ).first()


def _refuse_duplicate(batch: ImportBatch) -> Conflict:
    when = timezone.localtime(batch.finished_at or batch.created_at)
    return Conflict(
        f"file: this file was already imported into this account on "
        f"{when:%Y-%m-%d %H:%M} (import #{batch.pk}, {batch.inserted} lines); "
        "nothing was imported again"
    )


def _parse(
    *,
    account: Account,
    file_bytes: bytes,
    filename: str,
    preset: str | None,
    mapping: dict[str, str] | None,
    limit: int | None = None,
) -> ParseResult:
    if preset and preset not in PRESETS:
        raise InvalidInput(
            f"preset: {preset!r} is not one of {', '.join(PRESETS)}", field="preset"
        )
    max_bytes, max_rows = _limits()
    encodings = PRESETS[preset]["encodings"] if preset else ["utf-8", "utf-16"]
    table = read_table(
        file_bytes,
        filename,
        max_rows=max_rows,
        max_bytes=max_bytes,
        encodings=encodings,
    )
    return parse_table(
        table,
        preset=preset or None,
        mapping=mapping or None,
        currency=account.currency,
        zone=zone_for_currency(account.currency),
        limit=limit,
    )


def statement_file_preview(
    *,
    account: Account,
    file_bytes: bytes,
    filename: str,
    preset: str | None = None,
    mapping: dict[str, str] | None = None,
) -> ImportPreview:
    """Parse and validate the whole file, write nothing: for the mapping step."""
    duplicate = _already_imported(account, _sha256(file_bytes))
    try:
        parsed = _parse(
            account=account,
            file_bytes=file_bytes,
            filename=filename,
            preset=preset,
            mapping=mapping,
        )
    except InvalidInput as exc:
        parsed = ParseResult(preset=preset or "", headers=[], header_line=0, columns={})
        return ImportPreview(
            parse=parsed,
            sample=[],
            errors=[{"row": 0, "field": exc.field or "file", "message": exc.message}],
            duplicate_of=duplicate,
        )
    return ImportPreview(
        parse=parsed,
        sample=parsed.lines[:PREVIEW_ROWS],
        errors=[e.as_dict() for e in parsed.errors],
        duplicate_of=duplicate,
    )


@transaction.atomic
def import_batch_stage(
    *,
    account: Account,
    file_bytes: bytes,
    filename: str,
    preset: str | None = None,
    actor: Any = None,
) -> ImportBatch:
    """Keep an uploaded file as a pending import (nothing in the ledger yet)."""
    max_bytes, _ = _limits()
    if len(file_bytes) > max_bytes:
        raise InvalidInput(
            f"file: over the {settings.MAX_UPLOAD_MB} MB limit", field="file"
        )
    if not file_bytes:
        raise InvalidInput("file: the file is empty", field="file")
    sha256 = _sha256(file_bytes)
    duplicate = _already_imported(account, sha256)
    if duplicate is not None:
        raise _refuse_duplicate(duplicate)
    if preset and preset not in PRESETS:
        raise InvalidInput(f"preset: {preset!r} is not a known preset", field="preset")
    batch = ImportBatch(
        merchant=account.merchant,
        account=account,
        filename=filename[:255],
        sha256=sha256,
        size_bytes=len(file_bytes),
        preset=preset or "",
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    batch.file.save(_storage_name(filename), ContentFile(file_bytes), save=False)
    batch.save()
    return batch


@transaction.atomic
def import_batch_map(
    *,
    batch: ImportBatch,
    preset: str | None,
    mapping: dict[str, str] | None,
) -> ImportBatch:
    """Remember the preset and column mapping chosen for a pending import."""
    if batch.status != ImportStatus.PENDING:
        raise Conflict("import: this file was already imported or refused")
    if preset and preset not in PRESETS:
        raise InvalidInput(f"preset: {preset!r} is not a known preset", field="preset")
    unknown = sorted(set(mapping or {}) - set(MAPPABLE_FIELDS))
    if unknown:
        raise InvalidInput(
            f"mapping: unknown field(s) {', '.join(unknown)}", field="mapping"
        )
    batch.preset = preset or ""
    batch.mapping = {k: v for k, v in (mapping or {}).items() if v}
    batch.save(update_fields=["preset", "mapping"])
    return batch


def import_batch_file_bytes(*, batch: ImportBatch) -> bytes:
    with batch.file.open("rb") as handle:
        return handle.read()


def _storage_name(filename: str) -> str:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)
    return safe[-120:] or "statement"


def statement_file_import(
    *,
    account: Account,
    file_bytes: bytes,
    filename: str,
    preset: str | None = None,
    mapping: dict[str, str] | None = None,
    actor: Any = None,
    batch: ImportBatch | None = None,
) -> ImportResult:
    """Import every line of the file or none; a file already imported (same SHA-256)
    is refused with Conflict; lines already in the ledger are skipped and counted;
    a refused file is kept as a failed import with its errors."""
    sha256 = _sha256(file_bytes)
    duplicate = _already_imported(account, sha256)
    if duplicate is not None:
        raise _refuse_duplicate(duplicate)
    if batch is None:
        batch = import_batch_stage(
            account=account,
            file_bytes=file_bytes,
            filename=filename,
            preset=preset,
            actor=actor,
        )
    elif batch.account_id != account.pk or batch.sha256 != sha256:
        raise InvalidInput("batch: does not belong to this account and file")
    try:
        parsed = _parse(
            account=account,
            file_bytes=file_bytes,
            filename=filename,
            preset=preset,
            mapping=mapping,
        )
    except InvalidInput as exc:
        errors = [{"row": 0, "field": exc.field or "file", "message": exc.message}]
        return _fail(batch, errors=errors, rows=0, preset=preset, mapping=mapping)
    if parsed.errors:
        errors = [e.as_dict() for e in parsed.errors]
        return _fail(
            batch,
            errors=errors,
            rows=parsed.rows,
            preset=parsed.preset,
            mapping=mapping,
        )
    try:
        with transaction.atomic():
            inserted, skipped = _write_lines(
                account=account, batch=batch, lines=parsed.lines
            )
            batch.status = ImportStatus.IMPORTED
            batch.preset = parsed.preset
            batch.mapping = mapping or {}
            batch.rows = parsed.rows
            batch.inserted = inserted
            batch.skipped = skipped
            batch.errors = []
            batch.finished_at = timezone.now()
            batch.save()
            audit_event_record(
                merchant=account.merchant,
                action="statement.file_imported",
                obj=batch,
                actor=actor,
                details={
                    "account": account.pk,
                    "filename": batch.filename,
                    "sha256": sha256,
                    "preset": parsed.preset,
                    "inserted": inserted,
                    "skipped": skipped,
                },
            )
    except IntegrityError:
        # another import of the same file won the unique (account, sha256) claim
        other = _already_imported(account, sha256)
        if other is not None:
            raise _refuse_duplicate(other) from None
        raise
    logger.info(
        "statements.import.done",
        extra={"batch": batch.pk, "inserted": inserted, "skipped": skipped},
    )
    return ImportResult(
        inserted=inserted, skipped=skipped, batch_id=batch.pk, rows=parsed.rows
    )


def _fail(
    batch: ImportBatch,
    *,
    errors: list[dict[str, Any]],
    rows: int,
    preset: str | None,
    mapping: dict[str, str] | None,
) -> ImportResult:
    batch.status = ImportStatus.FAILED
    batch.errors = errors
    batch.rows = rows
    batch.preset = preset or batch.preset
    batch.mapping = mapping or {}
    batch.message = f"refused: {len(errors)} error(s); nothing was imported"
    batch.finished_at = timezone.now()
    batch.save()
    return ImportResult(inserted=0, skipped=0, errors=errors, batch_id=batch.pk)


def _write_lines(
    *, account: Account, batch: ImportBatch, lines: list[LineDraft]
) -> tuple[int, int]:
    """Drop the lines the ledger already has, write the rest; (inserted, skipped)."""
    fresh = _new_lines(account=account, lines=lines)
    inserted = transaction_rows_insert(
        account=account,
        lines=fresh,
        source=Source.FILE,
        import_batch_id=batch.pk,
    )
    return inserted, len(lines) - inserted


def _new_lines(*, account: Account, lines: list[LineDraft]) -> list[LineDraft]:
    with_id = [line for line in lines if line.has_bank_id]
    without = [line for line in lines if not line.has_bank_id]
    known: set[str] = set()
    ids = [line.external_id for line in with_id]
    if ids:
        low = min(line.posted_at for line in with_id)
        high = max(line.posted_at for line in with_id)
        span = Transaction.objects.filter(
            account=account,
            posted_at__gte=low - timezone.timedelta(days=2),
            posted_at__lte=high + timezone.timedelta(days=2),
        )
        known.update(span.values_list("external_id", flat=True))
        # ids outside the window (a bank that re-dated a line) are caught by the
        # unique key on insert; this read only makes the counts exact quickly
    fresh = [line for line in with_id if line.external_id not in known]
    if without:
        low_d = min(line.value_date for line in without)
        high_d = max(line.value_date for line in without)
        present = Counter(
            (value_date, amount, reference)
            for value_date, amount, reference in Transaction.objects.filter(
                account=account, value_date__gte=low_d, value_date__lte=high_d
            ).values_list("value_date", "amount", "reference")
        )
        for line in without:
            triple = (line.value_date, line.amount, line.reference)
            if present[triple] > 0:
                present[triple] -= 1
                continue
            fresh.append(line)
    return fresh


# Ledger columns the drafts fill, in this order (see _row_of).
_DRAFT_FIELDS = list(CANONICAL_LEDGER_FIELDS)


def _minor(value: Decimal | None) -> int | None:
    return None if value is None else int(value.scaleb(2))


def transaction_rows_insert(
    *,
    account: Account,
    lines: list[LineDraft],
    source: str,
    import_batch_id: int | None = None,
) -> int:
    """Write drafts as ledger lines in big batches; a line whose (account, external
    id) exists is left alone, any other constraint violation raises. Returns how
    many were inserted."""
    if not lines:
        return 0
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
            None if rate is None else format(rate, "f"),
            _minor(d.fee),
            *tail,
        )

    # rows are built as they are written, so only one batch of them is in memory
    rows = (row_of(d) for d in lines)
    table = Transaction._meta.db_table
    if postgres:
        return _insert_postgres(table, columns, rows)
    return _insert_generic(table, columns, rows)


def _insert_generic(table: str, columns: list[str], rows: Iterator[tuple]) -> int:
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    # only a uniqueness conflict is skipped (SQLite's OR IGNORE would also drop a
    # row that breaks a NOT NULL or CHECK constraint without a word)
    sql = (
        f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks}) "  # noqa: S608
        "ON CONFLICT DO NOTHING"
    )
    inserted = 0
    with connection.cursor() as cursor:
        while chunk := list(itertools.islice(rows, SQLITE_BATCH)):
            cursor.executemany(sql, chunk)
            inserted += max(cursor.rowcount, 0)
    return inserted


def _insert_postgres(table: str, columns: list[str], rows: Iterator[tuple]) -> int:
    """COPY into a temp table shaped like the ledger, then one INSERT … SELECT …
    ON CONFLICT DO NOTHING (the unique key decides; rowcount is exact)."""
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in columns)
    temp = "tonle_import_lines"
    with connection.cursor() as cursor:
        # This transaction (lines, batch row, audit event) is all or nothing either
        # way; not waiting for its WAL flush only means a crash in the next few
        # hundred ms loses the whole import, which is then simply made again.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(f"DROP TABLE IF EXISTS {temp}")
        cursor.execute(
            f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {cols} FROM {qn(table)} WITH NO DATA"
        )
        raw = cursor.cursor
        with raw.copy(f"COPY {temp} ({cols}) FROM STDIN") as copy:  # noqa: S608
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {qn(table)} ({cols}) SELECT {cols} FROM {temp} "  # noqa: S608
            "ON CONFLICT DO NOTHING"
        )
        inserted = cursor.rowcount
        cursor.execute(f"DROP TABLE IF EXISTS {temp}")
    return inserted


# --- reads for the import pages (always merchant-scoped) -------------------------


def import_batch_list(*, merchant: Merchant) -> QuerySet[ImportBatch]:
    return ImportBatch.objects.for_merchant(merchant).select_related(
        "account", "created_by"
    )


def import_batch_get(*, merchant: Merchant, batch_id: int) -> ImportBatch:
    return get_object_or_404(import_batch_list(merchant=merchant), pk=batch_id)
