"""Runs (history, starting one inline or queued), tolerances (compare, then
save), months (sign-off, the owner's reopening), the log and the dashboard's
widget; roles on each."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from freezegun import freeze_time

from merchants.models import AuditEvent
from reconciliation.models import (
    Match,
    PeriodSignOff,
    ReconciliationException,
    ReconciliationRun,
)
from reconciliation.models import Tolerances as TolerancesRow
from reconciliation.views_periods import INLINE_MAX_LINES
from tests.reconciliation.review_makers import month_with_proposals, run
from tests.reconciliation.test_services_review_compare import DEFAULTS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]
RUNS = reverse("reconciliation:runs")
TOLERANCES = reverse("reconciliation:tolerances")
MONTHS = reverse("reconciliation:periods")
PERIOD = {"date_from": "2026-11-01", "date_to": "2026-11-30"}


@pytest.fixture
def frozen():
    with freeze_time("2026-12-05 10:00:00"):
        yield


@pytest.fixture
def month(merchant, account):
    return month_with_proposals(merchant, account)


def test_an_accountant_runs_a_month_inline(accountant_client, month):
    response = accountant_client.post(RUNS, PERIOD)
    assert response.status_code == 302
    run_row = ReconciliationRun.objects.get()
    assert (run_row.trigger, run_row.started_by) == ("page", accountant_client.user)
    assert run_row.counts["proposed"] == 2
    page = accountant_client.get(RUNS).content.decode()
    assert f"Run {run_row.pk}: 3 matched (1 automatic, 2 proposed)" in page


def test_a_dry_run_saves_no_match(accountant_client, month):
    accountant_client.post(RUNS, PERIOD | {"dry_run": "on"})
    assert ReconciliationRun.objects.get().dry_run
    assert not Match.objects.exists()


def test_a_big_period_is_queued(
    accountant_client, merchant, month, monkeypatch, django_capture_on_commit_callbacks
):
    # given a period with more lines than run inline (the limit lowered)
    monkeypatch.setattr("reconciliation.views_periods.INLINE_MAX_LINES", 2)
    from reconciliation import tasks

    sent = []
    monkeypatch.setattr(
        tasks.reconcile_merchant, "delay", lambda *args: sent.append(args)
    )
    with django_capture_on_commit_callbacks(execute=True):
        accountant_client.post(RUNS, PERIOD)
    assert sent == [(merchant.pk, "2026-11-01", "2026-11-30")]
    assert INLINE_MAX_LINES > 2


@pytest.mark.parametrize("role", ["auditor", "viewer"])
def test_readers_see_runs_but_cannot_start_one(member_client_factory, merchant, role):
    client = member_client_factory(merchant, role)
    assert "run-start" not in client.get(RUNS).content.decode()
    assert client.post(RUNS, PERIOD).status_code == 403
    assert not ReconciliationRun.objects.exists()


def test_tolerances_compare_then_save(accountant_client, merchant, month):
    # when a zero fee tolerance is compared over November
    change = DEFAULTS | {"fee_percent": "0", "fee_floor_usd": "0"} | PERIOD
    compared = accountant_client.post(TOLERANCES, change | {"action": "compare"})

    # then the page lists the pair that changes, and nothing is saved
    comparison = compared.context["comparison"]
    assert comparison.changed == 1
    assert "INV-1002" in compared.content.decode()
    assert not TolerancesRow.objects.exists()

    # when it is saved
    saved = accountant_client.post(TOLERANCES, change | {"action": "save"})
    assert saved.status_code == 302
    assert TolerancesRow.objects.get(merchant=merchant).fee_percent == 0
    assert AuditEvent.objects.filter(
        action="reconciliation.tolerances.updated"
    ).exists()


def test_tolerances_refuse_readers(auditor_client):
    response = auditor_client.post(TOLERANCES, DEFAULTS | {"action": "save"})
    assert response.status_code == 403
    assert not TolerancesRow.objects.exists()


def test_sign_off_from_the_page_and_the_owners_reopening(
    accountant_client, owner_client, merchant, month
):
    run(merchant)
    # refused while exceptions are open
    refused = accountant_client.post(
        reverse("reconciliation:sign-off"), {"month": "2026-11"}, follow=True
    )
    assert "Not signed off: November 2026 has" in refused.content.decode()
    # carried forward, it is signed off
    accountant_client.post(
        reverse("reconciliation:sign-off"),
        {"month": "2026-11", "note": "ok", "carry_forward": "on"},
    )
    sign_off = PeriodSignOff.objects.get()
    assert (
        sign_off.carried_forward
        == ReconciliationException.objects.filter(status="carried").count()
    )
    months = accountant_client.get(MONTHS).content.decode()
    assert "Signed off" in months and "Reopen" not in months  # an accountant's view

    # an accountant may not reopen; the owner may, with a reason
    reopen = reverse("reconciliation:reopen")
    assert (
        accountant_client.post(reopen, {"month": "2026-11", "reason": "x"}).status_code
        == 403
    )
    owner_client.post(reopen, {"month": "2026-11", "reason": "late bank line"})
    sign_off.refresh_from_db()
    assert sign_off.reopen_reason == "late bank line"
    assert (
        "Reopen" not in owner_client.get(MONTHS).content.decode().split("Reopened")[0]
    )


@pytest.mark.parametrize("role", ["auditor", "viewer"])
def test_readers_cannot_sign_off(member_client_factory, merchant, role):
    client = member_client_factory(merchant, role)
    assert "sign-off" not in client.get(MONTHS).content.decode().split("<table")[1]
    response = client.post(
        reverse("reconciliation:sign-off"), {"month": "2026-10", "carry_forward": "on"}
    )
    assert response.status_code == 403
    assert not PeriodSignOff.objects.exists()


def test_the_log_lists_each_decision(accountant_client, merchant, month):
    run(merchant)
    accountant_client.post(RUNS, PERIOD)
    page = accountant_client.get(reverse("reconciliation:log"))
    actions = [e.action for e in page.context["page"]]
    assert actions.count("reconciliation.run") == 2


def test_dashboard_widget_shows_the_months_reconciliation(
    viewer_client, merchant, account
):
    # given November's proposals, seen on a November day
    with freeze_time("2026-11-25 10:00:00"):
        month_with_proposals(merchant, account)
        run(merchant, date_to=dt.date(2026, 11, 25))
        body = viewer_client.get(reverse("dashboard")).content.decode()
    # 4 credit lines: 1 matched automatically, 2 proposed, 1 unmatched
    assert "Reconciliation · November 2026" in body
    assert "25 %" in body and "1 of 4 lines" in body
    summary = body.split('id="widget-unmatched"')[1]
    assert '<div class="stat-value">1</div>' in summary.split("</a>")[0]
    assert reverse("reconciliation:exceptions") in body
