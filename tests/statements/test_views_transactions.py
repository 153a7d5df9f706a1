"""The Transactions page: filters, sort, seek pagination, export, roles."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from merchants.models import AuditEvent
from statements.selectors import transaction_list, transaction_page
from tests.factories import AccountFactory
from tests.statements.factories import PP, line

URL = reverse("statements:transactions")


@pytest.fixture
def lines(account, khr_account):
    return [
        line(account, dt.datetime(2026, 11, 2, 9, tzinfo=PP), "120.00",
             channel="KHQR", counterparty_name="Sok Dara", reference="INV-1",
             external_id="A1"),
        line(account, dt.datetime(2026, 11, 3, 9, tzinfo=PP), "-15.50",
             channel="BILL", counterparty_name="EDC electricity", reference="BILL-9",
             external_id="A2"),
        line(account, dt.datetime(2026, 11, 4, 9, tzinfo=PP), "-29.60",
             channel="CROSSBORDER", counterparty_name="ร้านกาแฟ",
             original_amount=Decimal("-1000.00"), original_currency="THB",
             fx_rate=Decimal("0.0291"), fee=Decimal("0.50"), external_id="A3"),
        line(khr_account, dt.datetime(2026, 11, 5, 9, tzinfo=PP), "40000",
             channel="TRANSFER", counterparty_name="ហាងតេស្ត",
             description="rent share", external_id="K1", source="file"),
    ]  # fmt: skip


def _ids(response) -> list[str]:
    return [t.external_id for t in response.context["page"].lines]


@pytest.mark.django_db
def test_transactions_page_lists_newest_first_with_totals_per_currency(
    viewer_client, lines
):
    # when
    response = viewer_client.get(URL)

    # then
    assert response.status_code == 200
    assert _ids(response) == ["K1", "A3", "A2", "A1"]
    totals = {t.currency: t for t in response.context["totals"].by_currency}
    assert totals["USD"].net == Decimal("74.90")  # 120.00 - 15.50 - 29.60
    assert totals["USD"].fees == Decimal("0.50")
    assert totals["KHR"].net == Decimal("40000")
    assert response.context["totals"].original == {"THB": Decimal("-1000.00")}
    body = response.content.decode()
    assert "ហាងតេស្ត" in body and "original -1,000.00 THB" in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"channel": "BILL"}, ["A2"]),
        ({"direction": "credit"}, ["K1", "A1"]),
        ({"direction": "debit"}, ["A3", "A2"]),
        ({"min_amount": "20", "max_amount": "200"}, ["A3", "A1"]),
        ({"q": "electric"}, ["A2"]),
        ({"q": "rent"}, ["K1"]),
        ({"source": "file"}, ["K1"]),
        ({"date_from": "2026-11-03", "date_to": "2026-11-04"}, ["A3", "A2"]),
    ],
)
def test_transactions_page_filters(owner_client, lines, query, expected):
    # when
    response = owner_client.get(URL, query)

    # then
    assert _ids(response) == expected


HASH = "9f" + "0123456789abcdef" * 3 + "a1b2c3d4e5f607"


@pytest.fixture
def identified(account, other_merchant):
    """Lines found by an identifier: a hash no text field carries, an id that
    another line's reference contains, and another merchant's line with the
    same bank id."""
    foreign = AccountFactory(merchant=other_merchant)
    return [
        line(account, dt.datetime(2026, 11, 6, 9, tzinfo=PP), "7.00",
             bakong_hash=HASH, reference="", external_id="B1"),
        line(account, dt.datetime(2026, 11, 7, 9, tzinfo=PP), "8.00",
             reference="refund of TRX-77", external_id="B2"),
        line(account, dt.datetime(2026, 11, 8, 9, tzinfo=PP), "9.00",
             external_id="TRX-77"),
        line(foreign, dt.datetime(2026, 11, 8, 9, tzinfo=PP), "9.00",
             external_id="TRX-78", reference="TRX-77"),
    ]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (HASH, ["B1"]),  # pasted whole, as Bakong shows it
        (HASH.upper(), ["B1"]),
        (HASH[:8], ["B1"]),  # the short form
        ("TRX-77", ["TRX-77"]),  # the bank's id, before references containing it
        ("TRX-78", []),  # another merchant's id
        ("TRX-7", ["B2"]),  # no such id: the text search, as before
        ("INV-1", ["A1"]),
    ],
)
def test_transactions_search_finds_identifiers_through_their_indexes(
    owner_client, lines, identified, q, expected
):
    # when
    response = owner_client.get(URL, {"q": q})

    # then
    assert _ids(response) == expected


@pytest.mark.django_db
def test_transactions_page_filters_by_account_and_refuses_another_merchants(
    owner_client, lines, khr_account, other_merchant
):
    # given
    foreign = AccountFactory(merchant=other_merchant)

    # when
    mine = owner_client.get(URL, {"account": khr_account.pk})
    theirs = owner_client.get(URL, {"account": foreign.pk})

    # then
    assert _ids(mine) == ["K1"]
    assert "account" in theirs.context["filter"].errors


@pytest.mark.django_db
def test_transactions_page_reports_a_bad_amount_filter_in_plain_words(
    owner_client, lines
):
    # when
    response = owner_client.get(URL, {"min_amount": "ten"})

    # then
    assert response.status_code == 200
    assert "Some filters were not understood" in response.content.decode()


@pytest.mark.django_db
def test_transactions_page_sorts_by_amount(owner_client, lines):
    # when
    up = owner_client.get(URL, {"sort": "amount"})
    down = owner_client.get(URL, {"sort": "-amount"})

    # then
    assert _ids(up) == ["A3", "A2", "A1", "K1"]
    assert _ids(down) == ["K1", "A1", "A2", "A3"]


@pytest.mark.django_db
def test_seek_pagination_walks_forward_and_back_without_loss_or_doubles(
    merchant, account
):
    # given 23 lines, several sharing one instant (ties broken by id)
    same = dt.datetime(2026, 11, 10, 9, tzinfo=PP)
    made = [
        line(account, same + dt.timedelta(minutes=0 if i % 3 == 0 else i), "1.00")
        for i in range(23)
    ]
    queryset = transaction_list(merchant=merchant)
    expected = [
        t.pk for t in sorted(made, key=lambda t: (t.posted_at, t.pk), reverse=True)
    ]

    # when walking forward five at a time, then back from the last page
    seen, pages, after = [], [], ""
    while True:
        page = transaction_page(queryset=queryset, after=after, size=5)
        pages.append(page)
        seen += [t.pk for t in page.lines]
        if not page.has_next:
            break
        after = page.next_cursor
    back = transaction_page(queryset=queryset, before=pages[-1].previous_cursor, size=5)

    # then
    assert seen == expected
    assert len(pages) == 5 and not pages[0].has_previous
    assert [t.pk for t in back.lines] == [t.pk for t in pages[-2].lines]
    assert back.has_next and back.has_previous
    assert pages[0].count == 23 and not pages[0].count_capped


@pytest.mark.django_db
def test_seek_pagination_caps_the_count(merchant, account, monkeypatch):
    # given more lines than the cap
    import statements.selectors as selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    for i in range(5):
        line(account, dt.datetime(2026, 11, 10, 9, i, tzinfo=PP), "1.00")

    # when
    page = selectors.transaction_page(queryset=transaction_list(merchant=merchant))

    # then
    assert (page.count, page.count_capped) == (3, True)


@pytest.mark.django_db
def test_a_malformed_cursor_shows_the_first_page(owner_client, lines):
    # when
    response = owner_client.get(URL, {"after": "not-a-cursor!"})

    # then
    assert response.status_code == 200
    assert _ids(response)[0] == "K1"


@pytest.mark.django_db
def test_export_csv_streams_the_current_filter_and_is_audited(
    accountant_client, lines, merchant
):
    # when (the page's default sort: newest first)
    response = accountant_client.get(
        reverse("statements:transactions-export-csv"), {"direction": "debit"}
    )

    # then
    assert response.status_code == 200 and response.streaming
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["txn_id"] for r in rows] == ["A3", "A2"]
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal("-45.10")
    assert rows[0]["original_amount"] == "-1000.00" and rows[0]["fee"] == "0.50"
    assert AuditEvent.objects.filter(
        merchant=merchant, action="statements.transactions.exported"
    ).exists()


@pytest.mark.django_db
def test_export_xlsx_has_numeric_amounts_and_inert_text(auditor_client, account):
    # given
    line(account, dt.datetime(2026, 11, 2, 9, tzinfo=PP), "-5.25",
         counterparty_name="=cmd|' /C calc'!A0")  # fmt: skip

    # when
    response = auditor_client.get(reverse("statements:transactions-export-xlsx"))

    # then
    data = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Transactions"]
    header = [c.value for c in sheet[1]]
    amount = sheet.cell(2, header.index("Amount") + 1)
    party = sheet.cell(2, header.index("Counterparty") + 1)
    assert amount.data_type == "n" and Decimal(str(amount.value)) == Decimal("-5.25")
    assert party.data_type == "s" and party.quotePrefix


@pytest.mark.django_db
def test_viewers_cannot_export(viewer_client, lines):
    # when
    response = viewer_client.get(reverse("statements:transactions-export-csv"))

    # then
    assert response.status_code == 403


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client):
    # when
    response = client.get(URL)

    # then
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_export_carries_the_biller_category_and_the_fx_flag_of_each_line(
    accountant_client, account
):
    # given a bill payment with its category and a flagged cross-border line
    line(
        account,
        dt.datetime(2026, 11, 2, 9, tzinfo=PP),
        "-15.50",
        channel="BILL",
        biller_category="utilities",
        external_id="B1",
    )
    line(account, dt.datetime(2026, 11, 3, 9, tzinfo=PP), "-28.40",
         channel="CROSSBORDER", original_amount=Decimal("1000.00"),
         original_currency="THB", fx_rate=Decimal("0.0289"), fx_mismatch=True,
         external_id="X1")  # fmt: skip
    # when
    csv_response = accountant_client.get(reverse("statements:transactions-export-csv"))
    xlsx_response = accountant_client.get(
        reverse("statements:transactions-export-xlsx")
    )
    # then the CSV has the canonical columns, the account, the source and the flag
    text = b"".join(csv_response.streaming_content).decode()
    rows = {r["txn_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["B1"]["biller_category"] == "utilities"
    assert (rows["B1"]["fx_mismatch"], rows["X1"]["fx_mismatch"]) == ("", "true")
    assert rows["X1"]["fx_rate"] == "0.0289" and rows["X1"]["amount"] == "-28.40"
    # and so does the workbook
    sheet = openpyxl.load_workbook(
        io.BytesIO(b"".join(xlsx_response.streaming_content))
    )["Transactions"]
    header = [c.value for c in sheet[1]]
    at = {name: header.index(name) for name in header}
    cells = {r[at["Transaction id"]].value: r for r in sheet.iter_rows(min_row=2)}
    assert cells["B1"][at["Biller category"]].value == "utilities"
    assert cells["X1"][at["FX differs"]].value is True
    assert cells["B1"][at["FX differs"]].value is None


@pytest.mark.django_db
def test_transactions_page_marks_a_flagged_cross_border_line(owner_client, account):
    # given
    line(account, dt.datetime(2026, 11, 3, 9, tzinfo=PP), "-28.40",
         channel="CROSSBORDER", original_amount=Decimal("1000.00"),
         original_currency="THB", fx_rate=Decimal("0.0289"),
         fx_mismatch=True)  # fmt: skip
    # when
    body = owner_client.get(URL).content.decode()
    # then
    assert "FX differs" in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad, label",
    [
        ({"min_amount": "abc"}, "Amount ≥: 'abc'"),
        ({"date_from": "31/02/2026"}, "From: '31/02/2026'"),
        # month first (April 13th) is refused, never swapped
        ({"date_to": "04/13/2026"}, "To: '04/13/2026'"),
    ],
)
def test_a_filter_that_cannot_be_understood_shows_its_error_and_no_lines(
    accountant_client, lines, bad, label
):
    # when
    response = accountant_client.get(URL, bad)
    # then the error names the filter and quotes it, and nothing else is offered
    body = html.unescape(response.content.decode())
    assert f"{label} —" in body
    assert _ids(response) == []
    assert 'id="txn-export"' not in body and 'id="txn-totals"' not in body
    assert "Sok Dara" not in body


@pytest.mark.django_db
def test_the_export_links_carry_the_pages_filter_and_sort(accountant_client, lines):
    # when
    body = accountant_client.get(URL, {"sort": "amount", "channel": "BILL"}).content
    # then
    text = html.unescape(body.decode())
    for name in ("export.csv", "export-excel.csv", "export.xlsx"):
        assert f"/transactions/{name}?sort=amount&channel=BILL" in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sort, expected",
    [
        ("amount", ["A3", "A2", "A1", "K1"]),
        ("-amount", ["K1", "A1", "A2", "A3"]),
        ("posted", ["A1", "A2", "A3", "K1"]),
        (None, ["K1", "A3", "A2", "A1"]),
    ],
)
def test_exports_keep_the_pages_sort(accountant_client, lines, sort, expected):
    # given the page's sort
    query = {"sort": sort} if sort else {}
    page = accountant_client.get(URL, query)
    # when both exports are made with it
    csv_response = accountant_client.get(
        reverse("statements:transactions-export-csv"), query
    )
    xlsx_response = accountant_client.get(
        reverse("statements:transactions-export-xlsx"), query
    )
    # then they list the lines in the page's order
    assert _ids(page) == expected
    text = b"".join(csv_response.streaming_content).decode()
    assert [r["txn_id"] for r in csv.DictReader(io.StringIO(text))] == expected
    sheet = openpyxl.load_workbook(
        io.BytesIO(b"".join(xlsx_response.streaming_content))
    )["Transactions"]
    assert [r[1].value for r in sheet.iter_rows(min_row=2)] == expected


@pytest.mark.django_db
def test_the_excel_csv_export_has_a_bom_and_crlf_and_the_plain_one_neither(
    accountant_client, lines
):
    # when
    excel = accountant_client.get(reverse("statements:transactions-export-excel-csv"))
    plain = accountant_client.get(reverse("statements:transactions-export-csv"))
    # then Excel reads the Khmer name from a double-click; scripts get plain UTF-8
    excel_bytes = b"".join(excel.streaming_content)
    plain_bytes = b"".join(plain.streaming_content)
    assert excel_bytes.startswith(b"\xef\xbb\xbfaccount,txn_id,")
    assert excel_bytes.count(b"\r\n") == 5 and b"\n" not in excel_bytes.replace(
        b"\r\n", b""
    )
    assert "ហាងតេស្ត".encode() in excel_bytes
    assert plain_bytes.startswith(b"account,txn_id,") and b"\r\n" not in plain_bytes
    assert "-excel.csv" in excel["Content-Disposition"]


@pytest.mark.django_db
def test_the_xlsx_export_has_human_headers_widths_formats_and_a_frozen_header(
    accountant_client, lines
):
    # when
    response = accountant_client.get(reverse("statements:transactions-export-xlsx"))
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book["Transactions"]
    # then
    header = [c.value for c in sheet[1]]
    assert header[:6] == [
        "Account",
        "Transaction id",
        "Posted at (account's local time)",
        "Value date",
        "Amount",
        "Currency",
    ]
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["L"].width >= 40  # the description
    rows = {r[1].value: r for r in sheet.iter_rows(min_row=2)}
    amount = header.index("Amount")
    assert rows["K1"][amount].number_format == "#,##0"  # whole riel
    assert rows["A1"][amount].number_format == "#,##0.00"
    posted = rows["A1"][header.index("Posted at (account's local time)")]
    assert posted.value == dt.datetime(2026, 11, 2, 9, 0)  # noqa: DTZ001
    assert posted.number_format == "yyyy-mm-dd hh:mm:ss"
    assert rows["A1"][header.index("Value date")].number_format == "yyyy-mm-dd"
