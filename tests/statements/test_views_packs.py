"""The Statements and Packs pages: preview, downloads, roles, audit events."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from decimal import Decimal

import pypdf
import pytest
from django.urls import reverse

from merchants.models import AuditEvent
from statements.models import PackStatus, StatementPack
from tests.statements.factories import PP, StatementFactory, line, november_ledger

STATEMENTS = reverse("statements:statements")
PACKS = reverse("statements:packs")
PERIOD = {"date_from": "2026-11-01", "date_to": "2026-11-30"}


@pytest.mark.django_db
def test_statements_page_previews_balances_totals_and_the_gap_warning(
    viewer_client, account
):
    # given the bank's November statement opens at 100.00 but October closed at 90.00
    StatementFactory(
        account=account,
        period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31),
        closing_balance=Decimal("90.00"),
    )
    StatementFactory(
        account=account,
        opening_balance=Decimal("100.00"),
        closing_balance=Decimal("112.00"),
    )
    november_ledger(account, ["15.00", "-3.00"], channel="KHQR")

    # when
    response = viewer_client.get(STATEMENTS, {**PERIOD, "accounts": [account.pk]})

    # then
    body = response.content.decode()
    (preview,) = response.context["previews"]
    assert (preview["period"].opening, preview["period"].closing) == (
        Decimal("100.00"),
        Decimal("112.00"),
    )
    assert "100.00 USD" in body and "112.00 USD" in body
    assert "(bank's figure)" in body
    assert "The closing balance of 2026-10-01..2026-10-31 (90.00 USD)" in body
    assert "Downloads are for owners, accountants and auditors." in body


@pytest.mark.django_db
def test_statements_page_explains_a_period_that_ends_before_it_starts(owner_client):
    # when
    response = owner_client.get(
        STATEMENTS, {"date_from": "2026-11-30", "date_to": "2026-11-01"}
    )

    # then
    assert "The period ends before it starts." in response.content.decode()
    assert response.context["previews"] == []


@pytest.mark.django_db
def test_statement_download_sends_the_pdf_and_writes_an_audit_event(
    auditor_client, account, merchant
):
    # given
    november_ledger(account, ["15.00", "-3.00"])
    url = reverse("statements:statement-download", args=[account.pk])

    # when
    response = auditor_client.get(url, {**PERIOD, "format": "pdf"})

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    data = b"".join(response.streaming_content)
    text = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "12.00 USD" in text  # closing
    event = AuditEvent.objects.get(
        merchant=merchant, action="statements.statement.downloaded"
    )
    assert event.details["format"] == "pdf" and event.details["lines"] == 2


@pytest.mark.django_db
def test_statement_download_without_a_period_says_what_is_missing(
    owner_client, account
):
    # when
    response = owner_client.get(
        reverse("statements:statement-download", args=[account.pk]),
        {"format": "pdf"},
        follow=True,
    )

    # then
    assert "Choose a period (from and to dates)" in response.content.decode()


@pytest.mark.django_db
def test_viewer_cannot_download_statements_or_see_packs(viewer_client, account):
    # when
    download = viewer_client.get(
        reverse("statements:statement-download", args=[account.pk]),
        {**PERIOD, "format": "csv"},
    )
    packs = viewer_client.get(PACKS)

    # then
    assert (download.status_code, packs.status_code) == (403, 403)


@pytest.mark.django_db
def test_auditor_builds_a_pack_and_downloading_it_is_audited(
    auditor_client, account, merchant, django_capture_on_commit_callbacks
):
    # given
    november_ledger(account, ["15.00", "-3.00"])

    # when the auditor asks for a pack (the eager task builds it on commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = auditor_client.post(PACKS, PERIOD)
    pack = StatementPack.objects.get(merchant=merchant)
    status = auditor_client.get(reverse("statements:pack-status", args=[pack.pk]))
    listing = auditor_client.get(PACKS)
    download = auditor_client.get(reverse("statements:pack-download", args=[pack.pk]))

    # then
    assert response.status_code == 302
    assert status.json()["status"] == PackStatus.READY
    assert status.json()["progress"] == 100
    assert "Download" in listing.content.decode()
    data = b"".join(download.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["merchant"] == merchant.pk
    event = AuditEvent.objects.get(
        merchant=merchant, action="statements.pack.downloaded"
    )
    assert event.actor == auditor_client.user
    assert event.object_id == str(pack.pk)
    assert event.details["sha256"] == pack.sha256 != ""


@pytest.mark.django_db
def test_packs_page_polls_while_a_pack_is_building(owner_client, merchant):
    # given a pack waiting for a worker
    pack = StatementPack.objects.create(
        merchant=merchant,
        period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 11, 30),
        status=PackStatus.RUNNING,
        progress=40,
        progress_message="Hattha USD: XLSX statement",
    )

    # when
    page = owner_client.get(PACKS)
    status = owner_client.get(reverse("statements:pack-status", args=[pack.pk]))
    download = owner_client.get(reverse("statements:pack-download", args=[pack.pk]))

    # then
    body = page.content.decode()
    assert f"var pending = [{pack.pk}];" in body
    assert status.json() == {
        "id": pack.pk,
        "status": "running",
        "status_label": "Building",
        "progress": 40,
        "message": "Hattha USD: XLSX statement",
        "error": "",
        "ready": False,
        "download_url": "",
    }
    assert download.status_code == 302
    assert not AuditEvent.objects.filter(action="statements.pack.downloaded").exists()


@pytest.mark.django_db
def test_pack_request_with_a_bad_period_writes_nothing(owner_client, merchant):
    # when
    response = owner_client.post(PACKS, {"date_from": "2026-11-30", "date_to": "x"})

    # then
    assert response.status_code == 200
    assert "Enter a valid date (dd/mm/yyyy)." in response.content.decode()
    assert not StatementPack.objects.exists()


@pytest.mark.django_db
def test_a_khmer_counterparty_reaches_the_downloaded_csv(owner_client, khr_account):
    # given
    line(
        khr_account,
        dt.datetime(2026, 11, 5, 9, tzinfo=PP),
        "4000",
        counterparty_name="ហាងកាហ្វេ",
    )

    # when
    response = owner_client.get(
        reverse("statements:statement-download", args=[khr_account.pk]),
        {**PERIOD, "format": "csv"},
    )

    # then
    text = b"".join(response.streaming_content).decode("utf-8")
    assert "ហាងកាហ្វេ" in text and ",4000," in text
