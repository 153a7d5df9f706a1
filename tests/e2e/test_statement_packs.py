"""End to end: an auditor in a real browser builds a statement pack, a REAL Celery
worker builds it, the page's poll shows it ready, the download verifies against its
manifest and is in the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings

from merchants.models import AuditEvent
from statements.models import PackStatus, StatementPack
from statements.services.packs import statement_pack_verify
from tests.e2e.worker import start_worker, stop_worker
from tests.factories import MembershipFactory, UserFactory
from tests.statements.factories import PP, line

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_auditor_builds_and_downloads_a_pack_built_by_a_real_worker(
    live_server,
    page,
    merchant,
    khr_account,
    tmp_path,
):
    # given an auditor and a riel account with a Khmer counterparty in November
    line(khr_account, dt.datetime(2026, 11, 3, 9, tzinfo=PP), "40000",
         counterparty_name="ហាងតេស្ត")  # fmt: skip
    line(khr_account, dt.datetime(2026, 11, 30, 23, 30, tzinfo=PP), "-1500")
    user = UserFactory(username="auditor-e2e")
    MembershipFactory(user=user, merchant=merchant, role="auditor")
    worker = start_worker(
        live_server_url=live_server.url,
        tmp_path=tmp_path,
        beat=False,
        extra_env={
            # the worker saves packs where this process (and its live server)
            # reads them: the tests' own media folder
            "MEDIA_ROOT_E2E": str(django_settings.MEDIA_ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.statements.e2e_settings",
        },
    )
    try:
        # when the auditor asks for November's pack in the browser
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "auditor-e2e")
        page.fill("#id_password", "pw-for-tests")
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}/statements/packs/")
        page.fill("#id_date_from", "01/11/2026")  # day first, as typed
        page.fill("#id_date_to", "30/11/2026")
        page.click("#pack-form button")

        # then the page follows the worker until the pack can be downloaded
        page.wait_for_selector("#packs .pack-action a", timeout=60_000)
        with page.expect_download() as download:
            page.click("#packs .pack-action a")
        target = tmp_path / "pack.zip"
        download.value.save_as(target)
    finally:
        stop_worker(worker)
    verdict = statement_pack_verify(path=target)
    assert verdict.ok, verdict.problems
    csv_entry = next(f for f in verdict.manifest["files"] if f["kind"] == "csv")
    assert (csv_entry["lines"], csv_entry["closing"]) == (2, "38500")
    pack = StatementPack.objects.get(merchant=merchant)
    assert pack.status == PackStatus.READY
    assert AuditEvent.objects.filter(
        action="statements.pack.downloaded", actor=user, object_id=str(pack.pk)
    ).exists()
