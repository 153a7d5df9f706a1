"""The FX rule with the bank's rounding: within the rate's printed precision a line is
accepted as it is; beyond it the line is imported as the bank wrote it and flagged
(`fx_mismatch`), never a reason to refuse the file (tracker issue 11, point 4)."""

from __future__ import annotations

import datetime as dt
import html
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
)

import pytest
from django.urls import reverse
from hypothesis import assume, given
from hypothesis import strategies as st

from statements.imports.fx import fx_check, fx_tolerance
from statements.models import ImportBatch, Transaction
from statements.services.imports import statement_file_import, statement_file_preview
from tests.statements.ingest_files import canonical

ROUNDINGS = [
    ROUND_HALF_UP,
    ROUND_HALF_EVEN,
    ROUND_HALF_DOWN,
    ROUND_DOWN,
    ROUND_UP,
    ROUND_CEILING,
    ROUND_FLOOR,
]
PLACES = {"USD": 2, "THB": 2, "KHR": 0}

# the issue's line: 17,800.00 THB × 0.027925 = 497.065 USD; the bank wrote 497.06
ISSUE_LINE = {
    "channel": "CROSSBORDER",
    "amount": "-497.06",
    "currency": "USD",
    "original_amount": "17800.00",
    "original_currency": "THB",
    "fx_rate": "0.027925",
}


# --- the pure rule ------------------------------------------------------------------


def test_the_issues_line_is_within_the_banks_rounding():
    # when
    difference = fx_check(
        Decimal("17800.00"), "0.027925", Decimal("-497.06"), None, "USD"
    )
    # then
    assert difference is None


def test_tolerance_is_half_a_unit_of_the_rates_last_decimal_times_the_original():
    # given a rate printed with six decimals, and the same rate with four
    original = Decimal("17800.00")
    # then: 17,800 × 0.0000005 + 0.01, and 17,800 × 0.00005 + 0.01
    assert fx_tolerance(original, Decimal("0.027925"), "USD") == Decimal("0.0189")
    assert fx_tolerance(original, Decimal("0.0279"), "USD") == Decimal("0.90")
    # a rate in whole riel per baht: half a riel per baht, plus one riel
    assert fx_tolerance(Decimal("100.00"), Decimal("118"), "KHR") == Decimal("51")


def test_a_difference_beyond_the_tolerance_is_returned_exactly():
    # when the bank's figure is 5 cents off 497.065
    difference = fx_check(
        Decimal("17800.00"), "0.027925", Decimal("-497.00"), None, "USD"
    )
    # then
    assert difference == Decimal("-0.065")


def test_the_fee_counts_on_the_bank_side():
    # given 1,000 THB × 0.0289 = 28.90 = 28.40 paid + 0.50 fee
    assert (
        fx_check(Decimal("1000"), "0.0289", Decimal("-28.40"), Decimal("0.50"), "USD")
        is None
    )
    # and without the fee it is 50 cents short, beyond 1000 × 0.00005 + 0.01
    assert fx_check(
        Decimal("1000"), "0.0289", Decimal("-28.40"), None, "USD"
    ) == Decimal("-0.50")


originals = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("10000000"), places=2
)
rates = st.builds(
    lambda digits, places: Decimal(digits).scaleb(-places),
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=0, max_value=8),
)
currencies = st.sampled_from(sorted(PLACES))


@given(
    original=originals,
    rate=rates,
    currency=currencies,
    fraction=st.fractions(min_value=-1, max_value=1),
)
def test_a_difference_within_the_tolerance_is_never_flagged(
    original, rate, currency, fraction
):
    # given a booked amount anywhere within the tolerance of original × rate
    tolerance = fx_tolerance(original, rate, currency)
    delta = tolerance * Decimal(fraction.numerator) / Decimal(fraction.denominator)
    booked = abs(original) * rate + delta
    assume(booked > 0)  # a line moves money one way
    # when
    difference = fx_check(original, str(rate), -booked, None, currency)
    # then
    assert difference is None


@given(
    original=originals,
    rate=rates,
    currency=currencies,
    beyond=st.integers(min_value=1, max_value=10**6),
    sign=st.sampled_from([-1, 1]),
)
def test_a_difference_above_the_tolerance_is_always_flagged(
    original, rate, currency, beyond, sign
):
    # given a booked amount further from original × rate than the tolerance
    tolerance = fx_tolerance(original, rate, currency)
    delta = sign * (tolerance + Decimal(beyond).scaleb(-8))
    booked = abs(original) * rate + delta
    assume(booked > 0)  # a line moves money one way
    # when
    difference = fx_check(original, str(rate), -booked, None, currency)
    # then
    assert difference == delta


@given(
    original=originals,
    rate=rates,
    currency=currencies,
    rounding=st.sampled_from(ROUNDINGS),
    drift=st.fractions(min_value=Decimal("-0.5"), max_value=Decimal("0.5")),
)
def test_any_banks_rounding_of_any_rate_the_printed_one_stands_for_is_accepted(
    original, rate, currency, rounding, drift
):
    # given the bank's true rate, which it printed rounded to `rate`'s places, and
    # its converted amount rounded its own way to the settlement currency
    unit = Decimal(1).scaleb(rate.as_tuple().exponent)
    true_rate = rate + unit * Decimal(drift.numerator) / Decimal(drift.denominator)
    step = Decimal(1).scaleb(-PLACES[currency])
    booked = (abs(original) * true_rate).quantize(step, rounding=rounding)
    # when
    difference = fx_check(original, str(rate), -booked, None, currency)
    # then
    assert difference is None


# --- statement files ----------------------------------------------------------------


def _cross_border_rows(count: int, *, odd_one: int | None = None) -> list[dict]:
    """`count` lines, one in 20 the issue's ThaiQR line; line `odd_one` (a
    cross-border one) 5 cents off."""
    rows = []
    start = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    for n in range(count):
        posted = (start + dt.timedelta(minutes=n)).isoformat()
        row = {"txn_id": f"L{n:06d}", "posted_at": posted, "currency": "USD"}
        if n % 20 == 19:
            row.update(ISSUE_LINE)
            if n == odd_one:
                row["amount"] = "-497.00"
        else:
            row.update(amount=f"{n % 900 + 1}.25", channel="KHQR")
        rows.append(row)
    return rows


@pytest.mark.django_db
def test_the_issues_line_is_imported_without_a_flag(account):
    # given a file with the issue's line
    data = canonical(
        [{"txn_id": "T1", "posted_at": "2026-04-03T09:00:00+07:00", **ISSUE_LINE}]
    )
    # when
    result = statement_file_import(account=account, file_bytes=data, filename="s.csv")
    # then
    assert result.errors == [] and result.inserted == 1 and result.flagged == 0
    line = Transaction.objects.get(external_id="T1")
    assert line.amount == Decimal("-497.06") and line.fx_rate == Decimal("0.027925")
    assert str(line.fx_rate) == "0.027925"  # the printed places are kept
    assert line.fx_mismatch is False


@pytest.mark.django_db
def test_one_line_outside_the_tolerance_imports_every_line_and_flags_that_one(account):
    # given a long file where one cross-border line is 5 cents off the rate
    rows = _cross_border_rows(10_000, odd_one=5_019)
    data = canonical(rows)
    # when
    result = statement_file_import(account=account, file_bytes=data, filename="big.csv")
    # then every line is in the ledger as the bank wrote it
    assert result.errors == []
    assert result.inserted == 10_000 and result.flagged == 1
    assert Transaction.objects.filter(account=account).count() == 10_000
    odd = Transaction.objects.get(account=account, external_id="L005019")
    assert odd.amount == Decimal("-497.00") and odd.fx_mismatch is True
    assert list(
        Transaction.objects.filter(fx_mismatch=True).values_list(
            "external_id", flat=True
        )
    ) == ["L005019"]
    # and the result says which line, with the numbers
    (flag,) = result.flags
    assert (flag["row"], flag["txn_id"], flag["flag"]) == (
        5_021,
        "L005019",
        "fx_mismatch",
    )
    assert "17800.00 THB × 0.027925 = 497.06500000 USD" in flag["message"]
    assert "497.00" in flag["message"] and "-0.065" in flag["message"]
    assert result.as_dict()["flagged"] == 1
    batch = ImportBatch.objects.get(pk=result.batch_id)
    assert batch.status == "imported" and "1 line(s)" in batch.message


@pytest.mark.django_db
def test_the_preview_lists_the_flagged_line_before_anything_is_written(account):
    # given
    data = canonical(_cross_border_rows(60, odd_one=39))
    # when
    preview = statement_file_preview(account=account, file_bytes=data, filename="s.csv")
    # then
    assert preview.errors == []
    assert preview.parse.flagged == 1
    assert [(f.row, f.txn_id) for f in preview.parse.flags] == [(41, "L000039")]
    assert Transaction.objects.count() == 0


@pytest.mark.django_db
def test_the_import_page_shows_the_flag_in_the_preview_and_after_the_import(
    accountant_client, account
):
    # given a staged file whose first cross-border line is off
    from statements.services.imports import import_batch_stage

    batch = import_batch_stage(
        account=account,
        file_bytes=canonical(_cross_border_rows(30, odd_one=19)),
        filename="s.csv",
    )
    url = reverse("statements:import-detail", args=[batch.pk])
    # when
    preview = html.unescape(accountant_client.get(url).content.decode())
    # then the preview says it will be imported, flagged, and shows the line
    assert "1 line(s) will be imported as the bank wrote them and flagged" in preview
    assert "L000019" in preview and "Import 30 line(s) (1 flagged)" in preview
    # when imported
    accountant_client.post(reverse("statements:import-confirm", args=[batch.pk]))
    page = html.unescape(accountant_client.get(url).content.decode())
    # then
    assert 'id="flagged-count">1<' in page
    assert "L000019" in page.split('id="flagged-lines"', 1)[1]
