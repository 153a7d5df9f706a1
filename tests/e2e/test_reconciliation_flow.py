"""End to end, the issue's "done when": on the demo's last month an accountant in a
real browser runs a reconciliation, confirms a proposal with the keyboard, rejects
one, matches a line by hand, resolves an exception and signs the month off; an
auditor downloads the report. Afterwards the log holds each action once."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from merchants.models import AuditEvent, Merchant
from reconciliation.models import (
    Match,
    PeriodSignOff,
    ReconciliationException,
)
from tests.reconciliation.review_makers import demo_invoices

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _unpaid_and_stray(merchant) -> tuple[str, str]:
    """An open unpaid invoice and an open unexplained line of one currency."""
    still = ReconciliationException.objects.filter(merchant=merchant, status="open")
    for unpaid in still.filter(reason="unpaid_item").order_by("day", "pk"):
        prefix, _, invoice_id = unpaid.expected_ids[0].partition(":")
        stray = still.filter(reason="unmatched_line", currency=unpaid.currency).first()
        if prefix == "inv" and stray is not None:
            return invoice_id, stray.posted_ids[0].split(":")[1]
    raise AssertionError("the demo month has no unpaid invoice beside a stray line")


def _sign_in(page, url, username):
    page.goto(f"{url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "tonle-demo")
    page.click("button[type=submit]")
    page.wait_for_selector(".topbar .user")


def test_a_month_is_reconciled_signed_off_and_reported(
    live_server, page, tmp_path, sandbox_bakong
):
    # given the demo and its shop's invoices for last month
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    merchant = Merchant.objects.get(pk=json.loads(out.getvalue())["merchant_id"])
    last = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    first = last.replace(day=1)
    demo_invoices(merchant, first, tmp_path)
    url = live_server.url

    # when the accountant runs the month from the Runs page
    _sign_in(page, url, "accountant")
    page.goto(f"{url}/reconciliation/runs/")
    page.fill("#id_date_from", f"{first:%d/%m/%Y}")  # as a person types it
    page.fill("#id_date_to", f"{last:%d/%m/%Y}")
    page.click("#run-start")
    page.wait_for_selector(".msg.success")
    assert "proposed" in page.inner_text(".messages")

    # … confirms the first proposal with the keyboard (its 0.50 short as a fee) …
    page.goto(f"{url}/reconciliation/")
    rows = page.locator("tr.queue-row")
    assert rows.count() >= 2
    first_row, second_row = rows.nth(0), rows.nth(1)
    confirmed_id = int(first_row.get_attribute("data-match"))
    rejected_id = int(second_row.get_attribute("data-match"))
    kind = first_row.locator("select[name=difference_kind]")
    if kind.count():  # a difference is booked as something: here, a bank fee
        kind.select_option("fee")
        page.keyboard.press("Escape")  # leave the select: keys go to the queue
    page.keyboard.press("c")
    page.wait_for_selector(f"#match-{confirmed_id}[data-status=confirmed]")
    # … and rejects the next one, which the queue moved to
    assert "current" in second_row.get_attribute("class")
    page.keyboard.press("r")
    page.wait_for_selector(f"#match-{rejected_id}[data-status=rejected]")

    # … matches an unpaid invoice and an unexplained line by hand …
    invoice_id, line_id = _unpaid_and_stray(merchant)
    page.goto(
        f"{url}/reconciliation/manual/?expected=invoice:{invoice_id}"
        f"&posted=line:{line_id}"
    )
    page.select_option("select[name=difference_kind][form=manual-form]", "write_off")
    page.fill("input[name=note]", "paid partly in cash at the shop")
    page.click("#manual-submit")
    page.wait_for_selector("#match-status")
    assert "Matched by hand" in page.inner_text(".messages")

    # … resolves an exception with a reason …
    page.goto(f"{url}/reconciliation/exceptions/")
    page.locator("#exceptions tbody tr a").first.click()
    page.select_option("#id_resolution", "ignored")
    page.fill("#id_note", "the owner's own deposit")
    page.click("#resolve button[type=submit]")
    page.wait_for_selector(".msg.success")

    # … and signs the month off, carrying the rest forward
    page.goto(f"{url}/reconciliation/months/")
    row = page.locator(f"#month-{first:%Y-%m}")
    checkbox = row.locator("input[name=carry_forward]")
    if checkbox.count():
        checkbox.check()
    row.locator("form.sign-off button").click()
    page.wait_for_selector(".msg.success")
    assert "is signed off" in page.inner_text(".messages")

    # then an auditor downloads the month's report
    page.click("form.inline button.link")  # log out
    _sign_in(page, url, "auditor")
    page.goto(f"{url}/reconciliation/report/")
    assert page.locator("form.decide, #run-start").count() == 0
    page.fill("#id_date_from", f"{first:%d/%m/%Y}")  # as a person types it
    page.fill("#id_date_to", f"{last:%d/%m/%Y}")
    with page.expect_download() as download:
        page.click("#report-pdf")
    target = tmp_path / "report.pdf"
    download.value.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")

    # and the log holds each action once
    assert Match.objects.get(pk=confirmed_id).status == "confirmed"
    assert Match.objects.get(pk=rejected_id).status == "rejected"
    assert PeriodSignOff.objects.filter(merchant=merchant, month=first).exists()
    people = AuditEvent.objects.filter(merchant=merchant, actor__isnull=False)
    logged = {
        action: people.filter(action=action).count()
        for action in (
            "reconciliation.run",
            "reconciliation.match.confirmed",
            "reconciliation.match.rejected",
            "reconciliation.match.manual",
            "reconciliation.exception.resolved",
            "reconciliation.period.signed_off",
            "reconciliation.report.downloaded",
        )
    }
    assert set(logged.values()) == {1}, logged
    confirmed = AuditEvent.objects.get(action="reconciliation.match.confirmed")
    assert confirmed.actor.username == "accountant"
    assert confirmed.details["difference_kind"] == "fee"
    downloaded = AuditEvent.objects.get(action="reconciliation.report.downloaded")
    assert downloaded.actor.username == "auditor"
