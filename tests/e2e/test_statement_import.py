"""An accountant imports a bank statement file in a real browser: upload, fix the
column mapping after seeing the error, preview, import, see it in the history."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from statements.models import ImportBatch, Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FILE = (
    "Ref No,posted_at,amount,currency,counterparty,reference\r\n"
    "E2E-1,2026-04-03T09:21:04+07:00,12.50,USD,ហាងកាហ្វេ,INV-1\r\n"
    "E2E-2,2026-04-03T23:30:00+07:00,-2.25,USD,Supplier,SUP-1\r\n"
).encode()


def test_accountant_maps_a_column_previews_and_imports(live_server, page, tmp_path):
    # given the demo data and a file whose id column has a name Tonle does not know
    call_command("seed_demo", "--json", stdout=StringIO())
    path = tmp_path / "april.csv"
    path.write_bytes(FILE)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "accountant")
    page.fill("#id_password", "tonle-demo")
    page.click("button[type=submit]")
    # when the accountant uploads it into the Hattha account as a canonical file
    page.goto(f"{live_server.url}/statements/imports/")
    page.select_option("#id_account", label="Hattha current (USD)")
    page.select_option("#id_preset", "tonle")
    page.set_input_files("#id_file", str(path))
    page.click("text=Upload and preview")
    # then the mapping step names the missing column, and nothing is written
    page.wait_for_selector("text=required column missing")
    assert Transaction.objects.filter(external_id__in=["E2E-1", "E2E-2"]).count() == 0
    # when the id field is pointed at the "Ref No" column
    page.select_option("select[name=map_txn_id]", "Ref No")
    page.click("text=Check again with these columns")
    # then the preview shows the lines, Khmer text included, with no errors
    page.wait_for_selector("text=All 2 row(s) are valid")
    assert "ហាងកាហ្វេ" in page.inner_text("main")
    # and it is drawn in the Khmer font Tonle serves, whatever the machine has
    loaded = page.evaluate(
        """async () => { await document.fonts.ready;
        return [...document.fonts].filter(f => f.status === "loaded")
            .map(f => f.family.replaceAll('"', '')) }"""
    )
    assert "Noto Sans Khmer" in loaded
    # when imported
    page.click("button:has-text('Import 2 line(s)')")
    page.wait_for_selector("text=Imported 2 new line(s)")
    # then
    assert Transaction.objects.filter(external_id__in=["E2E-1", "E2E-2"]).count() == 2
    assert ImportBatch.objects.get(filename="april.csv").status == "imported"
    page.goto(f"{live_server.url}/statements/imports/")
    assert "april.csv" in page.inner_text("main")
