"""Statement packs for auditors: one ZIP per merchant and period holding, per
account, the PDF, XLSX and CSV statement (and the reconciliation report when there
is one), a README.txt and a manifest.json of every file's SHA-256, size, line count
and balances; and the check of a pack against its own manifest."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import tempfile
import textwrap
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.exceptions import InvalidInput, NotFound
from core.money import amount_to_wire
from core.tasks import enqueue_on_commit
from merchants.models import Account, Merchant
from merchants.selectors import account_list
from merchants.services import audit_event_record
from statements.documents import FORMATS, MAX_PERIOD_DAYS, render_statement
from statements.models import PackStatus, StatementPack
from statements.services.balances import period_balance

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
README = "README.txt"
STALE_AFTER = dt.timedelta(minutes=30)
QUEUED_GRACE = dt.timedelta(minutes=2)
# Already compressed formats are stored, text is deflated.
STORED_SUFFIXES = {".pdf", ".xlsx"}
# Documents the apps above statements add to a pack (the reconciliation report):
# each is `part(*, merchant, date_from, date_to, out_dir) -> [(path, meta)]`, with
# meta {"kind", "account", "lines", "opening", "closing"}, registered in that
# app's AppConfig.ready (statements never imports them).
PackPart = Callable[..., list[tuple[Path, dict[str, Any]]]]
_PACK_PARTS: list[PackPart] = []

Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class PackResult:
    path: Path
    files: list[dict[str, Any]]


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _folder(account: Account) -> str:
    number = re.sub(r"[^A-Za-z0-9]+", "-", account.number).strip("-") or "account"
    return f"{account.provider}-{account.currency}-{number}"


def _validate_period(date_from: dt.date, date_to: dt.date) -> None:
    if date_to < date_from:
        raise InvalidInput(
            f"to: the period ends ({date_to}) before it starts ({date_from})",
            field="to",
        )
    if (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise InvalidInput(
            gettext_noop("to: a pack covers at most three years"), field="to"
        )


def pack_part_register(part: PackPart) -> None:
    """Add a document maker to every pack (once, however often ready() runs)."""
    if part not in _PACK_PARTS:
        _PACK_PARTS.append(part)


def pack_part_files(
    *, merchant: Merchant, date_from: dt.date, date_to: dt.date, out_dir: Path
) -> list[tuple[Path, dict[str, Any]]]:
    """The registered parts' files for the period, written under out_dir."""
    files: list[tuple[Path, dict[str, Any]]] = []
    for part in _PACK_PARTS:
        files.extend(
            part(
                merchant=merchant, date_from=date_from, date_to=date_to, out_dir=out_dir
            )
        )
    return files


def statement_pack_build(
    *,
    merchant: Merchant,
    date_from: dt.date,
    date_to: dt.date,
    out: str | os.PathLike | None = None,
    actor: Any = None,
    progress: Progress | None = None,
) -> PackResult:
    """Write the pack ZIP (whole or not at all) and return its path and manifest
    entries; each account's three documents share one snapshot of the ledger."""
    _validate_period(date_from, date_to)
    accounts = list(account_list(merchant=merchant))
    generated_at = timezone.now()
    report = progress or (lambda percent, message: None)
    with tempfile.TemporaryDirectory(prefix="tonle-pack-") as work:
        root = Path(work) / "pack"
        root.mkdir()
        entries: list[dict[str, Any]] = []
        warnings: list[str] = []
        steps = max(len(accounts) * len(FORMATS), 1)
        done = 0
        for account in accounts:
            period = period_balance(
                account=account, date_from=date_from, date_to=date_to
            )
            warnings.extend(f"{account.label}: {w}" for w in period.warnings)
            folder = _folder(account)
            for fmt in FORMATS:
                report(
                    int(90 * done / steps), f"{account.label}: {fmt.upper()} statement"
                )
                relative = f"{folder}/statement-{date_from}-{date_to}.{fmt}"
                result = render_statement(
                    account=account,
                    date_from=date_from,
                    date_to=date_to,
                    fmt=fmt,
                    out=root / relative,
                    period=period,
                )
                entries.append(
                    {
                        "path": relative,
                        "account": account.pk,
                        "kind": fmt,
                        "lines": result.lines,
                        "opening": amount_to_wire(result.opening, account.currency),
                        "closing": amount_to_wire(result.closing, account.currency),
                        "currency": account.currency,
                    }
                )
                done += 1
        report(90, gettext_noop("Reconciliation reports"))
        for path, meta in pack_part_files(
            merchant=merchant, date_from=date_from, date_to=date_to, out_dir=root
        ):
            entries.append(
                {
                    "path": path.relative_to(root).as_posix(),
                    "account": meta.get("account"),
                    "kind": meta.get("kind", "reconciliation"),
                    "lines": meta.get("lines", 0),
                    "opening": meta.get("opening", ""),
                    "closing": meta.get("closing", ""),
                }
            )
        (root / README).write_text(
            _readme(merchant, date_from, date_to, generated_at, accounts, warnings),
            encoding="utf-8",
        )
        entries.append(
            {
                "path": README,
                "account": None,
                "kind": "readme",
                "lines": 0,
                "opening": "",
                "closing": "",
            }
        )
        for entry in entries:
            file_path = root / entry["path"]
            entry["sha256"] = _sha256(file_path)
            entry["bytes"] = file_path.stat().st_size
        manifest = {
            "merchant": merchant.pk,
            "period_from": date_from.isoformat(),
            "period_to": date_to.isoformat(),
            "generated_at": generated_at.isoformat(),
            "files": [
                {
                    key: entry[key]
                    for key in (
                        "path",
                        "sha256",
                        "bytes",
                        "account",
                        "kind",
                        "lines",
                        "opening",
                        "closing",
                    )
                }
                for entry in entries
            ],
        }
        report(95, gettext_noop("Packing the ZIP"))
        if out is None:
            handle, name = tempfile.mkstemp(prefix="tonle-pack-", suffix=".zip")
            os.close(handle)
            target = Path(name)
        else:
            target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.part")
        try:
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(MANIFEST, json.dumps(manifest, indent=2) + "\n")
                for entry in entries:
                    file_path = root / entry["path"]
                    stored = file_path.suffix in STORED_SUFFIXES
                    archive.write(
                        file_path,
                        entry["path"],
                        compress_type=zipfile.ZIP_STORED if stored else None,
                    )
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    log.info(
        "statements.pack.built",
        extra={"merchant": merchant.pk, "files": len(entries), "path": str(target)},
    )
    return PackResult(path=target, files=manifest["files"])


def _readme(
    merchant: Merchant,
    date_from: dt.date,
    date_to: dt.date,
    generated_at: dt.datetime,
    accounts: list[Account],
    warnings: list[str],
) -> str:
    from core.periods import PHNOM_PENH

    name = merchant.legal_name or merchant.display_name
    generated = f"{generated_at.astimezone(PHNOM_PENH):%Y-%m-%d %H:%M}"
    lines = [
        _("Statement pack: %(name)s") % {"name": name},
        _(
            "Period: %(start)s to %(end)s (whole days, Asia/Phnom_Penh; "
            "Asia/Bangkok for THB accounts)"
        )
        % {"start": date_from, "end": date_to},
        _("Generated: %(when)s Asia/Phnom_Penh by Tonle") % {"when": generated},
        "",
        _("Contents"),
        *_indented(
            _(
                "One folder per account with its statement as PDF (to read and print), "
                "XLSX (to work with) and CSV (Tonle's canonical statement columns plus "
                "the running balance). Each holds every posted line of the period."
            )
        ),
        *_indented(
            _(
                "reconciliation/ holds the reconciliation report (PDF and XLSX): "
                "the matches, the exceptions and a bank reconciliation statement per "
                "account."
            )
        ),
        *_indented(
            _(
                "manifest.json lists every file with its SHA-256, size in bytes, line "
                "count, opening and closing balance."
            )
        ),
        "",
        _("Accounts"),
    ]
    for account in accounts:
        lines.append(f"  {_folder(account)}/  {account.label}")
    if not accounts:
        lines.append("  " + _("(this merchant has no active accounts)"))
    lines += ["", _("Warnings")]
    lines += [f"  - {w}" for w in warnings] or ["  " + _("none: every balance adds up")]
    lines += [
        "",
        _("Checking the pack"),
        "  " + _("sha256sum each file and compare with manifest.json, or run"),
        "  python manage.py verify_pack <this file>.zip",
        "",
    ]
    return "\n".join(lines)


def _indented(paragraph: str) -> list[str]:
    """A README paragraph as lines of a readable width, indented under its heading
    (a translation is as long as it needs to be)."""
    return textwrap.wrap(
        paragraph, width=76, initial_indent="  ", subsequent_indent="  "
    )


def statement_pack_verify(*, path: str | os.PathLike) -> VerifyResult:
    """Check every file of a pack against its manifest: present, same size, same
    SHA-256, and nothing in the ZIP that the manifest does not list."""
    problems: list[str] = []
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise InvalidInput(f"path: no such file {path}", field="path") from None
    except zipfile.BadZipFile:
        raise InvalidInput(f"path: {path} is not a ZIP file", field="path") from None
    with archive:
        try:
            manifest = json.loads(archive.read(MANIFEST))
            listed = manifest["files"]
        except (KeyError, ValueError, TypeError):
            raise InvalidInput(
                gettext_noop("path: the ZIP has no readable manifest.json"),
                field="path",
            ) from None
        names = set(archive.namelist()) - {MANIFEST}
        checked = 0
        for entry in listed:
            name = entry.get("path", "")
            if name not in names:
                problems.append(f"{name}: listed in the manifest but missing")
                continue
            names.discard(name)
            digest = hashlib.sha256()
            size = 0
            with archive.open(name) as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(block)
                    size += len(block)
            checked += 1
            if size != entry.get("bytes"):
                problems.append(
                    f"{name}: {size} bytes, the manifest says {entry.get('bytes')}"
                )
            if digest.hexdigest() != entry.get("sha256"):
                problems.append(f"{name}: SHA-256 differs from the manifest")
        for extra in sorted(names):
            problems.append(f"{extra}: in the ZIP but not in the manifest")
    return VerifyResult(
        ok=not problems, checked=checked, problems=problems, manifest=manifest
    )


# --- packs as stored objects (the Packs page and the statements.build_pack task) ---


@transaction.atomic
def statement_pack_request(
    *,
    merchant: Merchant,
    date_from: dt.date,
    date_to: dt.date,
    actor: Any = None,
    language: str = "en",
) -> StatementPack:
    """Record a pack to build and enqueue its task once the row is committed; its
    documents are written in `language` (the requester's)."""
    _validate_period(date_from, date_to)
    from statements.tasks import build_pack

    pack = StatementPack.objects.create(
        merchant=merchant,
        period_start=date_from,
        period_end=date_to,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        progress_message=gettext_noop("Waiting for a worker"),
        language=language,
    )
    audit_event_record(
        merchant=merchant,
        action="statements.pack.requested",
        obj=pack,
        actor=actor,
        details={"period_from": str(date_from), "period_to": str(date_to)},
    )
    enqueue_on_commit(build_pack, pack.pk)
    return pack


def _claim(pack_id: int) -> StatementPack | None:
    stale = timezone.now() - STALE_AFTER
    claimed = StatementPack.objects.filter(pk=pack_id, status=PackStatus.QUEUED).update(
        status=PackStatus.RUNNING, started_at=timezone.now()
    ) or StatementPack.objects.filter(
        pk=pack_id, status=PackStatus.RUNNING, started_at__lt=stale
    ).update(started_at=timezone.now())
    return StatementPack.objects.get(pk=pack_id) if claimed else None


def statement_pack_run(*, pack_id: int) -> StatementPack | None:
    """Build a queued pack once: claimed by a conditional update, so a duplicate
    message is a no-op; progress is stored on the row as it goes."""
    pack = _claim(pack_id)
    if pack is None:
        log.info("statements.pack.skipped", extra={"pack": pack_id})
        return None

    def progress(percent: int, message: str) -> None:
        StatementPack.objects.filter(pk=pack.pk).update(
            progress=min(max(percent, 0), 99), progress_message=message[:200]
        )

    try:
        # the worker has no request: the pack keeps its requester's language
        with translation.override(pack.language or "en"):
            result = statement_pack_build(
                merchant=pack.merchant,
                date_from=pack.period_start,
                date_to=pack.period_end,
                progress=progress,
            )
        try:
            size = result.path.stat().st_size
            digest = _sha256(result.path)
            with result.path.open("rb") as stream:
                pack.file.save(pack.download_name, File(stream), save=False)
        finally:
            result.path.unlink(missing_ok=True)
    except Exception as exc:
        log.exception("statements.pack.failed", extra={"pack": pack.pk})
        StatementPack.objects.filter(pk=pack.pk).update(
            status=PackStatus.FAILED,
            error=str(exc)[:2000] or exc.__class__.__name__,
            progress_message=gettext_noop("Failed"),
            finished_at=timezone.now(),
        )
        pack.refresh_from_db()
        return pack
    pack.status = PackStatus.READY
    pack.progress = 100
    pack.progress_message = gettext_noop("Ready")
    pack.sha256 = digest
    pack.size_bytes = size
    pack.files_count = len(result.files)
    pack.error = ""
    pack.finished_at = timezone.now()
    pack.save()
    audit_event_record(
        merchant=pack.merchant,
        action="statements.pack.built",
        obj=pack,
        details={"files": pack.files_count, "sha256": digest},
    )
    return pack


def statement_pack_sweep() -> int:
    """Re-enqueue packs the database says are due: queued for a while (a lost
    message) or building for too long (a killed worker); the claim makes a
    duplicate harmless. Returns how many were enqueued."""
    from statements.tasks import build_pack

    now = timezone.now()
    due = list(
        StatementPack.objects.filter(
            status=PackStatus.QUEUED, created_at__lt=now - QUEUED_GRACE
        ).values_list("pk", flat=True)
    ) + list(
        StatementPack.objects.filter(
            status=PackStatus.RUNNING, started_at__lt=now - STALE_AFTER
        ).values_list("pk", flat=True)
    )
    for pack_id in due:
        build_pack.delay(pack_id)
    if due:
        log.info("statements.pack.swept", extra={"packs": due})
    return len(due)


def statement_pack_download_record(
    *, pack: StatementPack, actor: Any, ip_address: str | None = None
) -> None:
    """Every download of a pack is written to the audit log."""
    if pack.status != PackStatus.READY or not pack.file:
        raise NotFound(gettext_noop("this pack is not ready to download"))
    audit_event_record(
        merchant=pack.merchant,
        action="statements.pack.downloaded",
        obj=pack,
        actor=actor,
        ip_address=ip_address,
        details={"sha256": pack.sha256, "bytes": pack.size_bytes},
    )
