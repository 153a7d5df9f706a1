"""An accountant imports a bank's file in a layout no preset knows, in a real
browser: a title block above the headers, Money In / Money Out, day-first dates,
no currency column, on a KHR account. She maps it once, imports it; next month's
file is read with the saved mapping by itself."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from statements.models import ImportBatch, ImportMapping, Transaction
from tests.e2e.bank_file import map_unknown_layout, unknown_layout

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def statement(month: int, title: list[str]) -> bytes:
    return unknown_layout(
        title,
        [
            f'03/{month:02d}/2026,KHQR ហាងកាហ្វេ E2E-{month},"12,000",,"2,012,000"',
            f'14/{month:02d}/2026,Supplier E2E-{month},,"5,000","2,007,000"',
        ],
    )


def test_accountant_maps_an_unknown_layout_once_and_next_month_it_is_applied(
    live_server, page, tmp_path
):
    # given the demo data and October's file from a bank no preset knows
    call_command("seed_demo", "--json", stdout=StringIO())
    october = tmp_path / "pp-commercial-2026-10.csv"
    october.write_bytes(
        statement(10, ["Phnom Penh Commercial Bank", "Statement,October 2026"])
    )
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "accountant")
    page.fill("#id_password", "tonle-demo")
    page.click("button[type=submit]")
    # when she uploads it into the KHR account, letting Tonle recognise it
    page.goto(f"{live_server.url}/statements/imports/")
    page.select_option("#id_account", label="ACLEDA savings (KHR)")
    page.set_input_files("#id_file", str(october))
    page.click("text=Upload and preview")
    # then no bank is recognised, and the headers below the title block are offered
    page.wait_for_selector("text=No bank recognised: map the columns")
    assert "headers taken from line 4" in page.inner_text("#recognition")
    options = page.locator("select[name=map_credit] option").all_inner_texts()
    assert "Money In" in options and "Phnom Penh Commercial Bank" not in options
    # when she maps the columns and says how the file writes dates
    map_unknown_layout(page)
    page.click("text=Check again with these columns")
    # then both lines read, in riel, with their descriptions
    page.wait_for_selector("text=All 2 row(s) are valid")
    preview = page.inner_text("main")
    assert "KHQR ហាងកាហ្វេ E2E-10" in preview and "Supplier E2E-10" in preview
    # when she imports it
    page.click("button:has-text('Import 2 line(s)')")
    page.wait_for_selector("text=Imported 2 new line(s)")
    # then the lines are in the ledger, signed by their column, in KHR
    lines = Transaction.objects.filter(description__contains="E2E-10")
    assert sorted((t.amount, t.currency) for t in lines) == [
        (-5000, "KHR"),
        (12000, "KHR"),
    ]
    assert ImportMapping.objects.get(account=lines[0].account).mapping["credit"] == (
        "Money In"
    )
    # when November's file arrives, its title block a line longer
    november = tmp_path / "pp-commercial-2026-11.csv"
    november.write_bytes(
        statement(
            11,
            ["Phnom Penh Commercial Bank", "Statement,November 2026", "Branch,BKK1"],
        )
    )
    page.goto(f"{live_server.url}/statements/imports/")
    page.select_option("#id_account", label="ACLEDA savings (KHR)")
    page.set_input_files("#id_file", str(november))
    page.click("text=Upload and preview")
    # then the saved mapping is applied by itself, and the page says so
    page.wait_for_selector("#saved-mapping")
    assert "Using the mapping saved on" in page.inner_text("#saved-mapping")
    page.wait_for_selector("text=All 2 row(s) are valid")
    assert "headers taken from line 5" in page.inner_text("#recognition")
    page.click("button:has-text('Import 2 line(s)')")
    page.wait_for_selector("text=Imported 2 new line(s)")
    assert Transaction.objects.filter(description__contains="E2E-11").count() == 2
    assert ImportBatch.objects.filter(status="imported").count() >= 2
