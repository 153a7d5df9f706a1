"""Statement files into the ledger: all or nothing, each file once per account, lines
already present skipped and counted. A line the bank wrote with an FX difference
beyond its rounding is imported as written and flagged (counted in the result as
`flagged`, listed in `flags`), never a reason to refuse the file; dates far from
the usual range are listed as `warnings` before the import and after it.

On PostgreSQL the file is parsed on a worker thread while the main thread writes
what was parsed before, in chunks (on SQLite the same chunks, one after the
other). The lines a chunk shares with the ledger are dropped, the rest go in
(PostgreSQL: one `COPY` straight into the ledger for as long as no chunk needs to
ask the ledger anything; SQLite: `INSERT … ON CONFLICT DO NOTHING`). A row error
anywhere, or a line that another writer put in meanwhile (the unique key refuses
the COPY), rolls the chunks back; the first is reported, the second is imported
again on the exact path (`transaction_rows_insert`).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import psycopg.errors
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.exceptions import Conflict, InvalidInput
from core.periods import zone_for_currency
from core.pipeline import chunks_in_background, chunks_inline, collector_paused
from merchants.models import Account
from merchants.services import audit_event_record
from statements.imports import PRESETS, LineDraft, ParseResult, read_table
from statements.imports.parse import parse_stream
from statements.imports.presets import MAPPABLE_FIELDS
from statements.models import ImportBatch, ImportStatus, Source, Transaction
from statements.services.bakong_lines import bakong_lines_link
from statements.services.ledger_rows import (
    LedgerCopy,
    LedgerIds,
    insert_ignoring_duplicates,
    row_shape,
    transaction_rows_insert,
)

logger = logging.getLogger("tonle.statements")

CHUNK = 10_000
FIRST_CHUNK = 1_000  # so the database starts writing soon after the parser
PREVIEW_ROWS = 10


@dataclass(frozen=True)
class ImportResult:
    inserted: int
    skipped: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    batch_id: int | None = None
    rows: int = 0
    flagged: int = 0  # lines of the file imported with a flag (fx_mismatch)
    flags: list[dict[str, Any]] = field(default_factory=list)  # the first 200
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The command's contract (inserted, skipped, errors) and what was flagged."""
        return {
            "inserted": self.inserted,
            "skipped": self.skipped,
            "errors": self.errors,
            "flagged": self.flagged,
            "flags": self.flags,
            "warnings": self.warnings,
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
) -> tuple[ParseResult, Iterator[LineDraft]]:
    """Read the file and check its header now; the lines are validated as the
    iterator is consumed (see parse_stream)."""
    if preset and preset not in PRESETS:
        raise InvalidInput(
            f"preset: {preset!r} is not one of {', '.join(PRESETS)}", field="preset"
        )
    max_bytes, max_rows = _limits()
    encodings = PRESETS[preset]["encodings"] if preset else ["utf-8", "utf-16"]
    zone = zone_for_currency(account.currency)
    table = read_table(
        file_bytes,
        filename,
        max_rows=max_rows,
        max_bytes=max_bytes,
        encodings=encodings,
    )
    return parse_stream(
        table,
        preset=preset or None,
        mapping=mapping or None,
        currency=account.currency,
        zone=zone,
        limit=limit,
        today=timezone.localdate(timezone=zone),
    )


def _parse_all(**kwargs: Any) -> ParseResult:
    result, lines = _parse(**kwargs)
    result.lines.extend(lines)
    return result


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
        with collector_paused():
            parsed = _parse_all(
                account=account,
                file_bytes=file_bytes,
                filename=filename,
                preset=preset,
                mapping=mapping,
            )
    except InvalidInput as exc:
        parsed = ParseResult(preset=preset or "", headers=[], header_line=0, columns={})
        return ImportPreview(
            parse=parsed, sample=[], errors=[_file_error(exc)], duplicate_of=duplicate
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
    sha256 = _sha256(file_bytes)
    duplicate = _already_imported(account, sha256)
    if duplicate is not None:
        raise _refuse_duplicate(duplicate)
    return _stage(
        account=account,
        file_bytes=file_bytes,
        sha256=sha256,
        filename=filename,
        preset=preset,
        actor=actor,
    )


def _stage(
    *,
    account: Account,
    file_bytes: bytes,
    sha256: str,
    filename: str,
    preset: str | None,
    actor: Any,
) -> ImportBatch:
    """import_batch_stage for a file whose digest the caller has checked."""
    max_bytes, _ = _limits()
    if len(file_bytes) > max_bytes:
        raise InvalidInput(
            f"file: over the {settings.MAX_UPLOAD_MB} MB limit", field="file"
        )
    if not file_bytes:
        raise InvalidInput("file: the file is empty", field="file")
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
        batch = _stage(
            account=account,
            file_bytes=file_bytes,
            sha256=sha256,
            filename=filename,
            preset=preset,
            actor=actor,
        )
    elif batch.account_id != account.pk or batch.sha256 != sha256:
        raise InvalidInput("batch: does not belong to this account and file")
    source = {
        "account": account,
        "file_bytes": file_bytes,
        "filename": filename,
        "preset": preset,
        "mapping": mapping,
    }
    record = {"account": account, "batch": batch, "mapping": mapping, "actor": actor}
    with collector_paused():
        try:
            parsed, lines = _parse(**source)
            if not parsed.errors:
                try:
                    inserted, skipped = _record(
                        **record,
                        parsed=parsed,
                        write=lambda: _stream_lines(account, batch, parsed, lines),
                    )
                except _LedgerMovedMeanwhile:
                    logger.info("statements.import.exact", extra={"batch": batch.pk})
                    parsed = _parse_all(**source)
                    if not parsed.errors:
                        inserted, skipped = _record(
                            **record,
                            parsed=parsed,
                            write=lambda: _write_lines(account, batch, parsed),
                        )
        except _RowsRefused:
            pass  # parsed.errors says why
        except InvalidInput as exc:  # the file cannot be read, at once or part way
            return _fail(
                batch, errors=[_file_error(exc)], rows=0, preset=preset, mapping=mapping
            )
    if parsed.errors:
        return _fail(
            batch,
            errors=[e.as_dict() for e in parsed.errors],
            rows=parsed.rows,
            preset=parsed.preset,
            mapping=mapping,
        )
    logger.info(
        "statements.import.done",
        extra={
            "batch": batch.pk,
            "inserted": inserted,
            "skipped": skipped,
            "flagged": parsed.flagged,
        },
    )
    return ImportResult(
        inserted=inserted,
        skipped=skipped,
        batch_id=batch.pk,
        rows=parsed.rows,
        flagged=parsed.flagged,
        flags=[f.as_dict() for f in parsed.flags],
        warnings=[w.as_dict() for w in parsed.warnings],
    )


class _RowsRefused(Exception):
    """A row error turned up after earlier chunks were written: roll them back."""


class _LedgerMovedMeanwhile(Exception):
    """The COPY met a line the ledger did not have when its chunk was checked."""


def _record(
    *,
    account: Account,
    batch: ImportBatch,
    parsed: ParseResult,
    write: Callable[[], tuple[int, int]],
    mapping: dict[str, str] | None,
    actor: Any,
) -> tuple[int, int]:
    """The lines, the batch marked imported and the audit event: one transaction."""
    try:
        with transaction.atomic():
            inserted, skipped = write()
            batch.status = ImportStatus.IMPORTED
            batch.preset = parsed.preset
            batch.mapping = mapping or {}
            batch.rows = parsed.rows
            batch.inserted = inserted
            batch.skipped = skipped
            batch.errors = []
            batch.message = _imported_message(parsed)
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
                    "sha256": batch.sha256,
                    "preset": parsed.preset,
                    "inserted": inserted,
                    "skipped": skipped,
                    "flagged": parsed.flagged,
                    "warnings": parsed.warned,
                },
            )
    except IntegrityError:
        # another import of the same file won the unique (account, sha256) claim
        other = _already_imported(account, batch.sha256)
        if other is not None:
            raise _refuse_duplicate(other) from None
        raise
    return inserted, skipped


def _imported_message(parsed: ParseResult) -> str:
    """What an imported file leaves for a person to look at, in words."""
    parts = [parsed.recognition.message]
    if parsed.flagged:
        rows = ", ".join(str(f.row) for f in parsed.flags[:10])
        more = "…" if parsed.flagged > 10 else ""
        parts.append(
            f"{parsed.flagged} line(s) imported as the bank wrote them and flagged "
            f"fx_mismatch (rows {rows}{more})"
        )
    if parsed.warned:
        parts.append(f"{parsed.warned} date(s) far from the usual range")
    parts += parsed.notes
    return "; ".join(parts)


def _file_error(exc: InvalidInput) -> dict[str, Any]:
    return {"row": 0, "field": exc.field or "file", "message": exc.message}


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


def _stream_lines(
    account: Account,
    batch: ImportBatch,
    parsed: ParseResult,
    lines: Iterable[LineDraft],
) -> tuple[int, int]:
    """Write the lines chunk by chunk as they are validated (on PostgreSQL by a
    worker thread, meanwhile); (inserted, skipped). Raises _RowsRefused or
    _LedgerMovedMeanwhile (see above)."""
    shape = row_shape(account=account, source=Source.FILE, import_batch_id=batch.pk)
    postgres = connection.vendor == "postgresql"
    seen = inserted = 0
    if postgres:
        # room to parse ahead while the database finishes a chunk (~8 MB of drafts)
        chunking = chunks_in_background(lines, size=CHUNK, first=FIRST_CHUNK, depth=6)
    else:
        # SQLite works in this process and drops the GIL on every row it writes, so
        # a parser thread would only fight it
        chunking = chunks_inline(lines, size=CHUNK, first=FIRST_CHUNK)
    # on PostgreSQL the chunks go into one COPY, ended only when the ledger must
    # be asked something (a chunk outside the id gap, a date not read yet)
    copier = LedgerCopy(shape) if postgres else nullcontext()
    with chunking as chunks, copier:
        ledger = _LedgerMatch(
            account, batch, before_query=copier.close if postgres else None
        )
        try:
            for chunk in chunks:
                seen += len(chunk)
                if parsed.errors:
                    continue  # refused: read on for the other errors, write nothing
                fresh = ledger.fresh(chunk)
                if postgres:
                    inserted += copier.write(fresh)
                else:
                    rows = (shape.row_of(d) for d in fresh)
                    inserted += insert_ignoring_duplicates(shape, rows)
            if postgres and not parsed.errors:
                copier.close()
        except IntegrityError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                raise _LedgerMovedMeanwhile from None
            raise
        if parsed.errors:
            raise _RowsRefused  # (inside the block: abandons the open COPY)
    bakong_lines_link(account=account, hashes=ledger.hashes)
    return inserted, seen - inserted


def _write_lines(
    account: Account, batch: ImportBatch, parsed: ParseResult
) -> tuple[int, int]:
    """The exact path: drop the lines the ledger already has, write the rest with
    the unique key deciding any race; (inserted, skipped)."""
    ledger = _LedgerMatch(account, batch)
    inserted = transaction_rows_insert(
        account=account,
        lines=ledger.fresh(parsed.lines),
        source=Source.FILE,
        import_batch_id=batch.pk,
    )
    bakong_lines_link(account=account, hashes=ledger.hashes)
    return inserted, len(parsed.lines) - inserted


class _LedgerMatch:
    """Which lines of a file the ledger already holds: the same bank id, or (for a
    bank that gives none) the same value date + amount + reference, each ledger
    line matching at most one line of the file. Asked chunk by chunk."""

    def __init__(
        self,
        account: Account,
        batch: ImportBatch,
        *,
        before_query: Callable[[], None] | None = None,
    ) -> None:
        self.account = account
        self.batch = batch
        self.before_query = before_query or (lambda: None)
        self.ids = LedgerIds(account, before_query=self.before_query)
        self.present: Counter = Counter()
        self.dates_read: set = set()
        self.hashes: set[str] = set()  # of the fresh lines, to link to Bakong

    def fresh(self, lines: list[LineDraft]) -> list[LineDraft]:
        # a file's bank ids are unique within it (the parser refuses a repeat), so
        # no id of this chunk is among the lines earlier chunks wrote
        known = self.ids.present(line.external_id for line in lines if line.has_bank_id)
        fresh = [
            line for line in lines if line.has_bank_id and line.external_id not in known
        ]
        without = [line for line in lines if not line.has_bank_id]
        if without:
            self._read_dates({line.value_date for line in without})
            present = self.present
            for line in without:
                triple = (line.value_date, line.amount, line.reference)
                if present[triple] > 0:
                    present[triple] -= 1
                    continue
                fresh.append(line)
        self.hashes.update(line.bakong_hash for line in fresh if line.bakong_hash)
        return fresh

    def _read_dates(self, dates: set) -> None:
        new = dates - self.dates_read
        if not new:
            return
        self.dates_read |= new
        self.before_query()
        # this file's own lines (earlier chunks) are not "already present"
        self.present.update(
            Transaction.objects.filter(account=self.account, value_date__in=new)
            .exclude(import_batch=self.batch)
            .values_list("value_date", "amount", "reference")
        )
