"""Statement packs: contents, manifest checksums, verification, commands, task."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile

import pytest
from django.core.management import call_command

from core.exceptions import InvalidInput
from merchants.models import AuditEvent
from statements.models import PackStatus, StatementPack
from statements.services.packs import (
    statement_pack_build,
    statement_pack_request,
    statement_pack_run,
    statement_pack_verify,
)
from tests.statements.factories import PP, line, november_ledger

NOV_1, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


@pytest.fixture
def ledger(account, khr_account):
    november_ledger(account, ["10.00", "-2.50", "100.25"])
    november_ledger(khr_account, ["4000", "-100"], counterparty_name="ហាងតេស្ត")
    line(khr_account, dt.datetime(2026, 10, 30, 9, tzinfo=PP), "500")
    return account, khr_account


def _build(merchant, tmp_path):
    return statement_pack_build(
        merchant=merchant, date_from=NOV_1, date_to=NOV_30, out=tmp_path / "p.zip"
    )


@pytest.mark.django_db
def test_pack_holds_pdf_xlsx_csv_per_account_and_a_manifest_with_checksums(
    merchant, ledger, tmp_path
):
    # given two accounts with November lines
    usd, khr = ledger

    # when
    result = _build(merchant, tmp_path)

    # then every file is listed with the SHA-256 and size of its bytes in the ZIP
    with zipfile.ZipFile(result.path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert set(manifest) == {
            "merchant", "period_from", "period_to", "generated_at", "files"
        }  # fmt: skip
        assert (manifest["period_from"], manifest["period_to"]) == (
            "2026-11-01",
            "2026-11-30",
        )
        for entry in manifest["files"]:
            data = archive.read(entry["path"])
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert len(data) == entry["bytes"]
        names = sorted(archive.namelist())
    kinds = {(e["account"], e["kind"]) for e in manifest["files"]}
    for account in (usd, khr):
        assert {(account.pk, k) for k in ("pdf", "xlsx", "csv")} <= kinds
    assert "README.txt" in names and "manifest.json" in names
    khr_csv = next(
        e for e in manifest["files"] if e["account"] == khr.pk and e["kind"] == "csv"
    )
    assert (khr_csv["lines"], khr_csv["opening"], khr_csv["closing"]) == (
        2,
        "500",
        "4400",
    )
    # 3 per account, the reconciliation report (PDF, XLSX) and the README
    assert len(result.files) == len(manifest["files"]) == 9


@pytest.mark.django_db
def test_verify_accepts_an_untouched_pack(merchant, ledger, tmp_path):
    # given
    result = _build(merchant, tmp_path)

    # when
    verdict = statement_pack_verify(path=result.path)

    # then
    assert verdict.ok and verdict.problems == []
    assert verdict.checked == 9


def _rewrite(source, target, change):
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = change(item.filename, old.read(item.filename))
            if data is not None:
                new.writestr(item, data)


@pytest.mark.django_db
def test_verify_detects_a_tampered_a_missing_and_an_extra_file(
    merchant, ledger, tmp_path
):
    # given a pack whose CSV was edited, whose README was dropped, and with a stowaway
    result = _build(merchant, tmp_path)
    tampered = tmp_path / "tampered.zip"

    def change(name, data):
        if name.endswith(".csv") and b"4000" in data:
            return data.replace(b"4000", b"9000")
        if name == "README.txt":
            return None
        return data

    _rewrite(result.path, tampered, change)
    with zipfile.ZipFile(tampered, "a") as archive:
        archive.writestr("extra.txt", "not from Tonle")

    # when
    verdict = statement_pack_verify(path=tampered)

    # then
    assert not verdict.ok
    csv_name = next(p for p in verdict.problems if ".csv" in p)
    assert "SHA-256 differs from the manifest" in csv_name
    assert "README.txt: listed in the manifest but missing" in verdict.problems
    assert "extra.txt: in the ZIP but not in the manifest" in verdict.problems


def test_verify_refuses_a_file_that_is_not_a_zip(tmp_path):
    # given
    bogus = tmp_path / "x.zip"
    bogus.write_text("hello")

    # when / then
    with pytest.raises(InvalidInput, match="is not a ZIP file"):
        statement_pack_verify(path=bogus)


@pytest.mark.django_db
def test_pack_refuses_a_period_that_ends_before_it_starts(merchant, tmp_path):
    # when / then
    with pytest.raises(InvalidInput, match="to: the period ends"):
        statement_pack_build(
            merchant=merchant,
            date_from=NOV_30,
            date_to=NOV_1,
            out=tmp_path / "p.zip",
        )
    assert not (tmp_path / "p.zip").exists()


@pytest.mark.django_db
def test_statement_pack_command_prints_path_and_files_and_verify_pack_checks_it(
    merchant, ledger, tmp_path
):
    # given
    out = io.StringIO()
    target = tmp_path / "cmd.zip"

    # when
    call_command(
        "statement_pack",
        "--merchant", str(merchant.pk),
        "--from", "2026-11-01",
        "--to", "2026-11-30",
        "--out", str(target),
        "--json",
        stdout=out,
    )  # fmt: skip
    printed = json.loads(out.getvalue())
    verify_out = io.StringIO()
    call_command("verify_pack", str(target), "--json", stdout=verify_out)

    # then
    assert printed["path"] == str(target)
    assert {f["kind"] for f in printed["files"]} == {
        "pdf", "xlsx", "csv", "reconciliation", "readme"
    }  # fmt: skip
    assert json.loads(verify_out.getvalue()) == {
        "ok": True,
        "checked": 9,
        "problems": [],
    }


@pytest.mark.django_db
def test_render_statement_command_prints_lines_opening_closing(khr_account, tmp_path):
    # given
    november_ledger(khr_account, ["4000", "-100"])
    out = io.StringIO()

    # when
    call_command(
        "render_statement",
        "--account", str(khr_account.pk),
        "--from", "2026-11-01",
        "--to", "2026-11-30",
        "--format", "xlsx",
        "--out", str(tmp_path / "s.xlsx"),
        "--json",
        stdout=out,
    )  # fmt: skip

    # then
    assert json.loads(out.getvalue()) == {
        "path": str(tmp_path / "s.xlsx"),
        "lines": 2,
        "opening": "0",
        "closing": "3900",
    }


@pytest.mark.django_db
def test_render_statement_command_names_a_bad_date(khr_account, tmp_path):
    # given
    out = io.StringIO()

    # when
    with pytest.raises(SystemExit) as exited:
        call_command(
            "render_statement",
            "--account", str(khr_account.pk),
            "--from", "2026-13-01",
            "--to", "2026-11-30",
            "--format", "pdf",
            "--out", str(tmp_path / "s.pdf"),
            "--json",
            stdout=out,
        )  # fmt: skip

    # then
    assert exited.value.code == 1
    assert json.loads(out.getvalue()) == {
        "error": "invalid_input",
        "message": "from: '2026-13-01' is not a date (use YYYY-MM-DD)",
    }
    assert not (tmp_path / "s.pdf").exists()


@pytest.mark.django_db
def test_requested_pack_is_built_by_the_task_with_progress_and_audit(
    merchant, ledger, django_capture_on_commit_callbacks, owner_client
):
    # given
    user = owner_client.user

    # when the request commits, the (eager) task builds it
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        pack = statement_pack_request(
            merchant=merchant, date_from=NOV_1, date_to=NOV_30, actor=user
        )

    # then
    assert len(callbacks) == 1
    pack.refresh_from_db()
    assert (pack.status, pack.progress, pack.files_count) == (PackStatus.READY, 100, 9)
    with pack.file.open("rb") as stream:
        data = stream.read()
    assert hashlib.sha256(data).hexdigest() == pack.sha256
    assert len(data) == pack.size_bytes
    actions = set(
        AuditEvent.objects.filter(merchant=merchant).values_list("action", flat=True)
    )
    assert {"statements.pack.requested", "statements.pack.built"} <= actions


@pytest.mark.django_db
def test_a_duplicate_build_message_is_a_no_op(merchant, ledger):
    # given a pack already built
    pack = StatementPack.objects.create(
        merchant=merchant, period_start=NOV_1, period_end=NOV_30
    )
    statement_pack_run(pack_id=pack.pk)
    pack.refresh_from_db()
    first_sha = pack.sha256

    # when the message is delivered again
    again = statement_pack_run(pack_id=pack.pk)

    # then
    assert again is None
    pack.refresh_from_db()
    assert (pack.status, pack.sha256) == (PackStatus.READY, first_sha)


@pytest.mark.django_db
def test_a_pack_that_fails_keeps_the_reason(merchant, ledger, monkeypatch):
    # given rendering breaks
    import statements.services.packs as packs

    def broken(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(packs, "render_statement", broken)
    pack = StatementPack.objects.create(
        merchant=merchant, period_start=NOV_1, period_end=NOV_30
    )

    # when
    statement_pack_run(pack_id=pack.pk)

    # then
    pack.refresh_from_db()
    assert (pack.status, pack.error) == (PackStatus.FAILED, "disk full")
    assert not pack.file


@pytest.mark.django_db
def test_pack_manifest_totals_match_each_accounts_ledger(merchant, ledger, tmp_path):
    # given
    usd, _ = ledger

    # when
    result = _build(merchant, tmp_path)

    # then
    usd_entries = [e for e in result.files if e["account"] == usd.pk]
    assert {e["closing"] for e in usd_entries} == {"107.75"}  # 10.00 - 2.50 + 100.25
    assert {e["lines"] for e in usd_entries} == {3}


@pytest.mark.django_db
def test_the_sweeper_finishes_a_pack_whose_message_was_lost(merchant, ledger):
    # given a pack queued ten minutes ago and never built, and one just queued
    from django.utils import timezone
    from freezegun import freeze_time

    from statements.services.packs import statement_pack_sweep

    with freeze_time(timezone.now() - dt.timedelta(minutes=10)):
        lost = StatementPack.objects.create(
            merchant=merchant, period_start=NOV_1, period_end=NOV_30
        )
    fresh = StatementPack.objects.create(
        merchant=merchant, period_start=NOV_1, period_end=NOV_30
    )

    # when the sweeper runs (eager Celery builds what it enqueues)
    enqueued = statement_pack_sweep()

    # then
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert enqueued == 1
    assert lost.status == PackStatus.READY
    assert fresh.status == PackStatus.QUEUED


@pytest.mark.django_db
def test_the_sweeper_schedule_exists():
    # given / when
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="statements.sweep_packs")

    # then
    assert task.enabled and task.interval.every == 5
