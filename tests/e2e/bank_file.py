"""A bank's statement file in a layout no preset knows, and how a person maps it:
a title block above the headers, Money In / Money Out, day-first dates, no currency
column (the account's)."""

from __future__ import annotations

HEADERS = "Txn Date,Details,Money In,Money Out,Balance"


def unknown_layout(title: list[str], rows: list[str]) -> bytes:
    lines = [*title, "", HEADERS, *rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def map_unknown_layout(page) -> None:
    """Choose each column on the import page and say how the file writes dates."""
    page.select_option("select[name=map_posted_at]", "Txn Date")
    page.select_option("select[name=map_description]", "Details")
    page.select_option("select[name=map_credit]", "Money In")
    page.select_option("select[name=map_debit]", "Money Out")
    page.select_option("select[name=map_balance_after]", "Balance")
    page.select_option("select[name=opt_amount_mode]", "debit_credit")
    page.select_option("select[name=opt_date_format]", "dmy")
