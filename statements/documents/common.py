"""What every statement document shares: the context (merchant, account, period
balances, generated-at), the canonical columns, and the formula escaping that keeps
text inert in spreadsheets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

from core.money import CURRENCIES, amount_to_wire
from core.periods import zone_for_currency
from merchants.models import Account, Merchant
from statements.canonical import CANONICAL_COLUMNS
from statements.selectors import BillerTotal, biller_category_totals
from statements.services.balances import LINE_FIELDS, PeriodBalance, running_lines

# The canonical statement CSV (DESIGN.md) plus the running balance.
CSV_COLUMNS = (*CANONICAL_COLUMNS, "balance")

# Index of each field in a running_lines() row (LINE_FIELDS + balance), by name.
_AT = {name: index for index, name in enumerate(LINE_FIELDS)}
EXTERNAL_ID, POSTED_AT, VALUE_DATE = (
    _AT["external_id"],
    _AT["posted_at"],
    _AT["value_date"],
)
AMOUNT, CURRENCY, CHANNEL = _AT["amount"], _AT["currency"], _AT["channel"]
COUNTERPARTY, COUNTERPARTY_ACCOUNT = (
    _AT["counterparty_name"],
    _AT["counterparty_account"],
)
REFERENCE, BAKONG_HASH = _AT["reference"], _AT["bakong_hash"]
DESCRIPTION, BALANCE_AFTER = _AT["description"], _AT["balance_after"]
ORIGINAL_AMOUNT, ORIGINAL_CURRENCY = _AT["original_amount"], _AT["original_currency"]
FX_RATE, FEE, BILLER_CATEGORY = _AT["fx_rate"], _AT["fee"], _AT["biller_category"]
SOURCE, BALANCE = _AT["source"], len(LINE_FIELDS)

FORMULA_STARTS = frozenset("=+-@\t\r")
# what makes Excel read a double-clicked CSV as UTF-8 (Khmer and Thai intact)
EXCEL_BOM = "\ufeff"


def formula_looking(text: str) -> bool:
    return bool(text) and text[0] in FORMULA_STARTS


def inert_text(text: str) -> str:
    """Text a spreadsheet will not run: a leading = + - @ tab or CR gets a quote
    (the OWASP CSV-injection rule); amounts are never passed through this."""
    return "'" + text if text and text[0] in FORMULA_STARTS else text


@dataclass(frozen=True)
class StatementContext:
    merchant: Merchant
    account: Account
    period: PeriodBalance
    generated_at: dt.datetime

    @property
    def currency(self) -> str:
        return self.account.currency

    @property
    def zone(self) -> ZoneInfo:
        return zone_for_currency(self.account.currency)

    def rows(self) -> Iterator[tuple]:
        return running_lines(account=self.account, period=self.period)

    @cached_property
    def billers(self) -> list[BillerTotal]:
        """The period's bill payments and top-ups by biller category."""
        return biller_category_totals(account=self.account, period=self.period)

    @property
    def generated_local(self) -> str:
        local = self.generated_at.astimezone(self.zone)
        return f"{local:%Y-%m-%d %H:%M} ({self.zone.key})"

    @property
    def account_label(self) -> str:
        account = self.account
        name = account.name or account.get_provider_display()
        return f"{name} · {account.get_provider_display()} {account.masked_number}"

    @property
    def period_label(self) -> str:
        return f"{self.period.date_from:%d %b %Y} – {self.period.date_to:%d %b %Y}"


def cross_border_note(row: tuple) -> str:
    """'1,000.00 THB × 0.0296 + fee 0.50' for a cross-border line, else ''."""
    original = row[ORIGINAL_AMOUNT]
    if original is None or not row[ORIGINAL_CURRENCY]:
        return ""
    currency = row[ORIGINAL_CURRENCY]
    places = CURRENCIES[currency].places if currency in CURRENCIES else 2
    text = f"{abs(original):,.{places}f} {currency}"
    if row[FX_RATE] is not None:
        text += f" × {row[FX_RATE]}"
    if row[FEE]:
        text += f" + fee {amount_to_wire(row[FEE], row[CURRENCY])}"
    return text
