"""Statement files into the ledger: all or nothing for row errors, each file once
per account, lines already present skipped and counted. A line whose bank id the
ledger holds with another amount or day is a conflict: reported per row (preview,
result, batch), not imported, while the file's other lines are (the bank's file is
evidence, and so is the ledger's line: which is right is for a person to say).
A line the bank wrote with an FX difference beyond its rounding is imported as
written and flagged (counted in the result as `flagged`, listed in `flags`),
never a reason to refuse the file; dates far from the usual range are listed as
`warnings` before the import and after it.

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

import datetime as dt
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
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.exceptions import Conflict, InvalidInput
from core.money import amount_to_wire, from_minor
from core.periods import zone_for_currency
from core.pipeline import chunks_in_background, chunks_inline, collector_paused
from merchants.models import Account
from merchants.services import audit_event_record
from statements.imports import PRESETS, LineDraft, ParseResult, Table, read_table
from statements.imports.mapping import MappingError, header_signature, mapping_clean
from statements.imports.parse import HEADER_SEARCH_LINES, parse_stream, recognise
from statements.imports.readers import upload_check
from statements.models import (
    ImportBatch,
    ImportMapping,
    ImportStatus,
    Source,
    Transaction,
)
from statements.services.bakong_lines import bakong_lines_link
from statements.services.ledger_rows import (
    LedgerCopy,
    LedgerIds,
    insert_ignoring_duplicates,
    ledger_hashes_present,
    ledger_lines_present,
    row_shape,
    transaction_rows_insert,
)

logger = logging.getLogger("tonle.statements")

CHUNK = 10_000
MAX_LISTED = 200  # conflicts listed on a batch and in a result
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
    # lines whose bank id the ledger holds with another amount or day: not
    # imported, each reported (the first 200 listed)
    conflicted: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The command's contract (inserted, skipped, errors) and what was flagged
        or is in conflict with the ledger."""
        return {
            "inserted": self.inserted,
            "skipped": self.skipped,
            "errors": self.errors,
            "flagged": self.flagged,
            "flags": self.flags,
            "warnings": self.warnings,
            "conflicted": self.conflicted,
            "conflicts": self.conflicts,
        }


@dataclass(frozen=True)
class ImportPreview:
    """What an import would do, computed without writing a line."""

    parse: ParseResult
    sample: list[LineDraft]
    errors: list[dict[str, Any]]
    duplicate_of: ImportBatch | None
    saved_mapping: ImportMapping | None = None
    mapping: dict[str, Any] = field(default_factory=dict)  # as read with
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    conflicted: int = 0


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


@dataclass
class _Parsed:
    """A file read and its header checked: the result, its lines as they are
    validated, the mapping it was read with and the saved one it came from."""

    result: ParseResult
    lines: Iterator[LineDraft]
    preset: str | None
    mapping: dict[str, Any]
    saved: ImportMapping | None
    by_headers: str = ""  # the preset the file's own headers name, if any


def _parse(
    *,
    account: Account,
    file_bytes: bytes,
    filename: str,
    preset: str | None,
    mapping: dict[str, Any] | None,
    limit: int | None = None,
) -> _Parsed:
    """Read the file and check its header now; the lines are validated as the
    iterator is consumed (see parse_stream). With neither a preset nor a
    mapping given, the mapping saved for this account and these headers is
    used (saved_mapping_for)."""
    if preset and preset not in PRESETS:
        raise InvalidInput(
            f"preset: {preset!r} is not one of {', '.join(PRESETS)}", field="preset"
        )
    mapping = _mapping_checked(mapping)
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
    saved = None
    if not preset and not mapping:
        saved = saved_mapping_for(account=account, table=table)
        if saved is not None:
            preset = saved.preset or None
            mapping = _mapping_checked(saved.mapping)
    result, lines = parse_stream(
        table,
        preset=preset or None,
        mapping=mapping or None,
        currency=account.currency,
        zone=zone,
        limit=limit,
        today=timezone.localdate(timezone=zone),
    )
    by_headers = recognise(table).preset if preset else result.preset
    return _Parsed(result, lines, preset or None, mapping, saved, by_headers)


def _mapping_checked(mapping: dict[str, Any] | None) -> dict[str, Any]:
    try:
        return mapping_clean(mapping)
    except MappingError as exc:
        raise InvalidInput(f"mapping: {exc}", field=exc.field) from None


def saved_mapping_for(*, account: Account, table: Table) -> ImportMapping | None:
    """The mapping saved for this account whose header row stands among the
    file's opening rows (the same headers, however the title block above them
    changed), or None."""
    saved = {m.signature: m for m in ImportMapping.objects.filter(account=account)}
    if not saved:
        return None
    for row in table.rows[:HEADER_SEARCH_LINES]:
        found = saved.get(header_signature(row))
        if found is not None:
            return found
    return None


def _parse_all(**kwargs: Any) -> _Parsed:
    parsed = _parse(**kwargs)
    parsed.result.lines.extend(parsed.lines)
    return parsed


def statement_file_preview(
    *,
    account: Account,
    file_bytes: bytes,
    filename: str,
    preset: str | None = None,
    mapping: dict[str, str] | None = None,
) -> ImportPreview:
    """Parse and validate the whole file, write nothing: for the mapping step.
    Lines whose bank id the ledger holds with another amount or day are listed
    as conflicts (they will not be imported)."""
    duplicate = _already_imported(account, _sha256(file_bytes))
    try:
        with collector_paused():
            read = _parse_all(
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
    parsed = read.result
    conflicts: list[dict[str, Any]] = []
    if not parsed.errors:
        conflicts = _conflicts_in(account, parsed.lines)
    return ImportPreview(
        parse=parsed,
        sample=parsed.lines[:PREVIEW_ROWS],
        errors=[e.as_dict() for e in parsed.errors],
        duplicate_of=duplicate,
        saved_mapping=read.saved,
        mapping=read.mapping,
        conflicts=conflicts[:MAX_LISTED],
        conflicted=len(conflicts),
    )


def _conflicts_in(account: Account, lines: list[LineDraft]) -> list[dict[str, Any]]:
    """The lines whose bank id the ledger holds with another amount or day."""
    zone = zone_for_currency(account.currency)
    with_id = [line for line in lines if line.has_bank_id]
    held = ledger_lines_present(account, [line.external_id for line in with_id])
    return [
        conflict
        for line in with_id
        if line.external_id in held
        and (conflict := _conflict(line, held[line.external_id], zone)) is not None
    ]


def _conflict(
    line: LineDraft, held: tuple[int, dt.datetime], zone: Any
) -> dict[str, Any] | None:
    """A line the ledger holds under the same bank id: None when it says the
    same (amount and local day), else the conflict, both sides in words."""
    amount_minor, posted_at = held
    # the usual re-sent line is the very same: the same instant, the same amount
    if posted_at == line.posted_at and amount_minor == int(line.amount.scaleb(2)):
        return None
    ledger_amount = from_minor(amount_minor)
    ledger_day = posted_at.astimezone(zone).date()
    day = line.posted_at.astimezone(zone).date()
    if ledger_amount == line.amount and ledger_day == day:
        return None
    currency = line.currency
    return {
        "row": line.row,
        "txn_id": line.external_id,
        "field": "txn_id",
        "message": (
            f"{line.external_id!r} is already in the ledger as "
            f"{amount_to_wire(ledger_amount, currency)} {currency} on {ledger_day}; "
            f"this file says {amount_to_wire(line.amount, currency)} {currency} on "
            f"{day}: not imported, the ledger keeps its line"
        ),
    }


@transaction.atomic
def import_batch_stage(
    *,
    account: Account,
    file_bytes: bytes,
    filename: str,
    preset: str | None = None,
    actor: Any = None,
) -> ImportBatch:
    """Keep an uploaded file as a pending import (nothing in the ledger yet); a
    file refused on sight (a macro workbook, a zip bomb) is not kept at all."""
    sha256 = _sha256(file_bytes)
    duplicate = _already_imported(account, sha256)
    if duplicate is not None:
        raise _refuse_duplicate(duplicate)
    upload_check(file_bytes, filename, max_bytes=_limits()[0])
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
        raise InvalidInput(gettext_noop("file: the file is empty"), field="file")
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
    """Remember the preset and column mapping chosen for a pending import (the
    saved mapping it came from, if any, is left as it is until the import)."""
    if batch.status != ImportStatus.PENDING:
        raise Conflict(
            gettext_noop("import: this file was already imported, refused or discarded")
        )
    if preset and preset not in PRESETS:
        raise InvalidInput(f"preset: {preset!r} is not a known preset", field="preset")
    batch.preset = preset or ""
    batch.mapping = _mapping_checked(mapping)
    batch.save(update_fields=["preset", "mapping"])
    return batch


@transaction.atomic
def import_batch_discard(*, batch: ImportBatch, actor: Any = None) -> ImportBatch:
    """Drop an upload nobody will import: its stored file is deleted, the batch
    stays in the history as discarded (audited). Only a pending one."""
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != ImportStatus.PENDING:
        raise Conflict(
            "import: only a file waiting for its import can be discarded; this one "
            f"is {batch.get_status_display().lower()}"
        )
    name = batch.file.name
    batch.status = ImportStatus.DISCARDED
    batch.finished_at = timezone.now()
    batch.message = "discarded before import; the file was deleted"
    batch.file = ""
    batch.save(update_fields=["status", "finished_at", "message", "file"])
    if name:
        storage = batch.file.storage
        transaction.on_commit(lambda: storage.delete(name))
    audit_event_record(
        merchant=batch.merchant,
        action="statement.import_discarded",
        obj=batch,
        actor=actor,
        details={
            "account": batch.account_id,
            "filename": batch.filename,
            "sha256": batch.sha256,
        },
    )
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
    staged_here = batch is None
    if batch is None:
        try:
            upload_check(file_bytes, filename, max_bytes=_limits()[0])
        except InvalidInput as exc:  # refused on sight: nothing is kept
            return ImportResult(inserted=0, skipped=0, errors=[_file_error(exc)])
        batch = _stage(
            account=account,
            file_bytes=file_bytes,
            sha256=sha256,
            filename=filename,
            preset=preset,
            actor=actor,
        )
    elif batch.account_id != account.pk or batch.sha256 != sha256:
        raise InvalidInput(
            gettext_noop("batch: does not belong to this account and file")
        )
    source = {
        "account": account,
        "file_bytes": file_bytes,
        "filename": filename,
        "preset": preset,
        "mapping": mapping,
    }
    record = {"account": account, "batch": batch, "actor": actor}
    try:
        return _import_staged(source, record)
    except DatabaseError as exc:
        if staged_here:
            # the lines were rolled back; a batch left pending would sit on the
            # imports page as a file waiting for its mapping
            _fail_after_database_error(batch, exc)
        raise


def _import_staged(source: dict[str, Any], record: dict[str, Any]) -> ImportResult:
    """statement_file_import once the batch is staged: parse, write, record."""
    batch, preset, mapping = record["batch"], source["preset"], source["mapping"]
    account = record["account"]
    with collector_paused():
        try:
            read = _parse(**source)
            parsed = read.result
            if not parsed.errors:
                try:
                    written = _record(
                        **record,
                        read=read,
                        write=lambda: _stream_lines(account, batch, parsed, read.lines),
                    )
                except _LedgerMovedMeanwhile:
                    logger.info("statements.import.exact", extra={"batch": batch.pk})
                    read = _parse_all(**source)
                    parsed = read.result
                    if not parsed.errors:
                        written = _record(
                            **record,
                            read=read,
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
            mapping=read.mapping,
        )
    logger.info(
        "statements.import.done",
        extra={
            "batch": batch.pk,
            "inserted": written.inserted,
            "skipped": written.skipped,
            "flagged": parsed.flagged,
            "conflicted": len(written.conflicts),
        },
    )
    return ImportResult(
        inserted=written.inserted,
        skipped=written.skipped,
        batch_id=batch.pk,
        rows=parsed.rows,
        flagged=parsed.flagged,
        flags=[f.as_dict() for f in parsed.flags],
        warnings=[w.as_dict() for w in parsed.warnings],
        conflicted=len(written.conflicts),
        conflicts=written.conflicts[:MAX_LISTED],
    )


@dataclass(frozen=True)
class _Written:
    inserted: int
    skipped: int
    conflicts: list[dict[str, Any]]


class _RowsRefused(Exception):
    """A row error turned up after earlier chunks were written: roll them back."""


class _LedgerMovedMeanwhile(Exception):
    """The COPY met a line the ledger did not have when its chunk was checked."""


def _record(
    *,
    account: Account,
    batch: ImportBatch,
    read: _Parsed,
    write: Callable[[], _Written],
    actor: Any,
) -> _Written:
    """The lines, the batch marked imported, the mapping saved for this account's
    next file with these headers, and the audit event: one transaction."""
    parsed = read.result
    try:
        with transaction.atomic():
            written = write()
            inserted, skipped = written.inserted, written.skipped
            batch.status = ImportStatus.IMPORTED
            batch.preset = parsed.preset
            batch.mapping = read.mapping
            batch.rows = parsed.rows
            batch.inserted = inserted
            batch.skipped = skipped
            batch.conflicted = len(written.conflicts)
            batch.conflicts = written.conflicts[:MAX_LISTED]
            batch.errors = []
            batch.message = _imported_message(parsed, written.conflicts)
            batch.finished_at = timezone.now()
            batch.saved_mapping = _mapping_save(
                account=account, batch=batch, read=read, actor=actor
            )
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
                    "conflicted": len(written.conflicts),
                },
            )
    except IntegrityError:
        # another import of the same file won the unique (account, sha256) claim
        other = _already_imported(account, batch.sha256)
        if other is not None:
            raise _refuse_duplicate(other) from None
        raise
    return written


def _mapping_save(
    *, account: Account, batch: ImportBatch, read: _Parsed, actor: Any
) -> ImportMapping | None:
    """Keep the mapping (or the preset chosen for headers no bank is recognised
    by) for this account's next file with the same header row; a file read by a
    bank's own headers needs none."""
    parsed = read.result
    # a preset chosen for headers no bank is recognised by (one its headers name
    # needs no saving)
    chosen = parsed.recognition.how == "chosen" and read.by_headers != read.preset
    if not read.mapping and not chosen:
        if read.saved is not None:
            ImportMapping.objects.filter(pk=read.saved.pk).update(
                last_used_at=timezone.now()
            )
        return read.saved
    mapping = {k: v for k, v in read.mapping.items() if k != "header_line"}
    saved, created = ImportMapping.objects.update_or_create(
        account=account,
        signature=header_signature(parsed.headers),
        defaults={
            "merchant": account.merchant,
            "headers": list(parsed.headers),
            "preset": read.preset or "",
            "mapping": mapping,
            "last_used_at": timezone.now(),
        },
        create_defaults={
            "merchant": account.merchant,
            "headers": list(parsed.headers),
            "preset": read.preset or "",
            "mapping": mapping,
            "last_used_at": timezone.now(),
            "created_by": actor if getattr(actor, "is_authenticated", False) else None,
        },
    )
    if created or read.saved is None or read.saved.mapping != mapping:
        audit_event_record(
            merchant=account.merchant,
            action="statement.import_mapping_saved",
            obj=saved,
            actor=actor,
            details={
                "account": account.pk,
                "batch": batch.pk,
                "preset": saved.preset,
                "mapping": mapping,
            },
        )
    return saved


def _imported_message(parsed: ParseResult, conflicts: list[dict[str, Any]]) -> str:
    """What an imported file leaves for a person to look at, in words."""
    parts = [parsed.recognition.message]
    if conflicts:
        rows = ", ".join(str(c["row"]) for c in conflicts[:10])
        more = "…" if len(conflicts) > 10 else ""
        parts.append(
            f"{len(conflicts)} line(s) not imported: their bank id is already in the "
            f"ledger with another amount or day (rows {rows}{more})"
        )
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


def _fail_after_database_error(batch: ImportBatch, exc: DatabaseError) -> None:
    """Best effort: the connection may be the thing that broke."""
    logger.error(
        "statements.import.database_error",
        extra={"batch": batch.pk, "error": repr(exc)},
    )
    try:
        ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.PENDING).update(
            status=ImportStatus.FAILED,
            errors=[
                {"row": 0, "field": "file", "message": "a database error stopped it"}
            ],
            message="a database error stopped the import; nothing was imported",
            finished_at=timezone.now(),
        )
    except DatabaseError:
        logger.exception("statements.import.not_marked", extra={"batch": batch.pk})


def _stream_lines(
    account: Account,
    batch: ImportBatch,
    parsed: ParseResult,
    lines: Iterable[LineDraft],
) -> _Written:
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
    conflicts = ledger.conflicts
    return _Written(inserted, seen - inserted - len(conflicts), conflicts)


def _write_lines(account: Account, batch: ImportBatch, parsed: ParseResult) -> _Written:
    """The exact path: drop the lines the ledger already has, write the rest with
    the unique key deciding any race."""
    ledger = _LedgerMatch(account, batch)
    inserted = transaction_rows_insert(
        account=account,
        lines=ledger.fresh(parsed.lines),
        source=Source.FILE,
        import_batch_id=batch.pk,
    )
    bakong_lines_link(account=account, hashes=ledger.hashes)
    conflicts = ledger.conflicts
    return _Written(inserted, len(parsed.lines) - inserted - len(conflicts), conflicts)


class _LedgerMatch:
    """Which lines of a file the ledger already holds: the same bank id, or (for a
    bank that gives none) the same value date + amount + reference, each ledger
    line matching at most one line of the file. Asked chunk by chunk.

    A bank id the ledger holds with another amount or local day is a conflict:
    the line is not written (the ledger's line is immutable; which one is right
    is for a person to say) and is listed in `conflicts`. Only the ids the
    ledger holds are compared (LedgerIds.present_lines)."""

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
        self.conflicts: list[dict[str, Any]] = []
        self.zone = zone_for_currency(account.currency)

    def fresh(self, lines: list[LineDraft]) -> list[LineDraft]:
        # a file's bank ids are unique within it (the parser refuses a repeat), so
        # no id of this chunk is among the lines earlier chunks wrote
        known = self.ids.present_lines(
            line.external_id for line in lines if line.has_bank_id
        )
        if known:
            fresh = []
            for line in lines:
                if not line.has_bank_id:
                    continue
                held = known.get(line.external_id)
                if held is None:
                    fresh.append(line)
                elif (conflict := _conflict(line, held, self.zone)) is not None:
                    self.conflicts.append(conflict)
        else:
            fresh = [line for line in lines if line.has_bank_id]
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
        fresh = self._without_known_hashes(fresh)
        self.hashes.update(line.bakong_hash for line in fresh if line.bakong_hash)
        return fresh

    def _without_known_hashes(self, fresh: list[LineDraft]) -> list[LineDraft]:
        """A line whose Bakong hash the account's ledger already carries is that
        movement again under the bank's own id (a wallet's file after settlement
        posted Bakong's line): skipped, or the balance would count it twice."""
        hashes = {line.bakong_hash for line in fresh if line.bakong_hash}
        if not hashes:
            return fresh
        self.before_query()
        held = ledger_hashes_present(
            self.account, hashes, excluding_batch_id=self.batch.pk
        )
        return [line for line in fresh if line.bakong_hash not in held]

    def _read_dates(self, dates: set) -> None:
        new = dates - self.dates_read
        if not new:
            return
        self.dates_read |= new
        self.before_query()
        # this file's own lines (earlier chunks) are not "already present". The
        # account's lines are its merchant's (the tenant rule): naming the merchant
        # lets the (merchant, value_date) index find the days, where the planner
        # otherwise walked that whole index, every merchant's (9 vs 32-77 ms for three
        # days of a 713,000-line account in a 1.2 M-line ledger)
        self.present.update(
            Transaction.objects.filter(
                merchant_id=self.account.merchant_id,
                account=self.account,
                value_date__in=new,
            )
            .exclude(import_batch=self.batch)
            .values_list("value_date", "amount", "reference")
        )
