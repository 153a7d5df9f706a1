"""A tolerance change tried before it is saved: the engine runs the period twice
in memory, with the merchant's current tolerances and with the proposed ones, and
the pairs that come out differently are listed. Nothing is written; saving the
new tolerances is its own (audited) step."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from core.exceptions import InvalidInput
from core.money import from_minor
from merchants.models import Merchant
from merchants.services import audit_event_record
from reconciliation.engine import Result, Tolerances, reconcile
from reconciliation.models import Tolerances as TolerancesRow
from reconciliation.services.loading import rows_load, tolerances_from
from reconciliation.services.runs import MAX_PERIOD_DAYS

MAX_DIFFERENCES = 500


@dataclass(frozen=True)
class PairChange:
    """One set of rows the two settings decide differently."""

    expected_ids: tuple[str, ...]
    posted_ids: tuple[str, ...]
    current: str  # "tier 3 reference.fee (proposed)", or "" when unmatched
    proposed: str
    difference: str  # the proposed match's difference, as text


@dataclass(frozen=True)
class Comparison:
    date_from: dt.date
    date_to: dt.date
    current: dict[str, int]
    proposed: dict[str, int]
    changes: list[PairChange]
    changed: int  # every change, also past the ones listed
    current_tolerances: Tolerances
    proposed_tolerances: Tolerances

    @property
    def count_rows(self) -> list[tuple[str, int, int]]:
        """(count name, current, proposed) for every name either side has."""
        names = sorted(set(self.current) | set(self.proposed))
        return [
            (n, self.current.get(n, 0), self.proposed.get(n, 0))
            for n in names
            if n != "matched"
        ]


def _counts(result: Result) -> dict[str, int]:
    return result.counts() | {
        "matched": len(result.matches),
        "exceptions": len(result.findings),
    }


def _describe(match) -> str:
    return f"tier {match.tier} {match.rule} ({match.status})"


def tolerances_parse(
    *,
    fee_percent: Any,
    fee_floor_usd: Any,
    fee_floor_khr: Any,
    fee_floor_thb: Any,
    fx_percent: Any,
    days_after_due: Any,
    khqr_days_after_expiry: Any,
) -> dict[str, Any]:
    """Tolerances as typed on a page, checked field by field."""
    out: dict[str, Any] = {}
    for name, value, top in (
        ("fee_percent", fee_percent, Decimal(20)),
        ("fx_percent", fx_percent, Decimal(20)),
        ("fee_floor_usd", fee_floor_usd, Decimal(1000)),
        ("fee_floor_khr", fee_floor_khr, Decimal(4_000_000)),
        ("fee_floor_thb", fee_floor_thb, Decimal(35_000)),
    ):
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise InvalidInput(
                f"{name}: {value!r} is not a number", field=name
            ) from None
        if not number.is_finite() or number < 0 or number > top:
            raise InvalidInput(f"{name}: between 0 and {top}", field=name)
        if name.endswith("percent") and number != number.quantize(Decimal("0.01")):
            raise InvalidInput(f"{name}: at most 2 decimal places", field=name)
        if name == "fee_floor_khr" and number % 1:
            raise InvalidInput(f"{name}: riel amounts are whole numbers", field=name)
        if number != number.quantize(Decimal("0.01")):
            raise InvalidInput(f"{name}: at most 2 decimal places", field=name)
        out[name] = number
    for name, value in (
        ("days_after_due", days_after_due),
        ("khqr_days_after_expiry", khqr_days_after_expiry),
    ):
        try:
            days = int(str(value).strip())
        except ValueError:
            raise InvalidInput(
                f"{name}: {value!r} is not a whole number", field=name
            ) from None
        if not 0 <= days <= 365:
            raise InvalidInput(f"{name}: between 0 and 365 days", field=name)
        out[name] = days
    return out


def tolerances_engine(values: dict[str, Any]) -> Tolerances:
    """Parsed tolerances (tolerances_parse) as the engine takes them."""
    return tolerances_from(
        fee_percent=values["fee_percent"],
        fee_floors={
            "USD": values["fee_floor_usd"],
            "KHR": values["fee_floor_khr"],
            "THB": values["fee_floor_thb"],
        },
        fx_percent=values["fx_percent"],
        days_after_due=values["days_after_due"],
        khqr_days_after_expiry=values["khqr_days_after_expiry"],
    )


def tolerances_values(tolerances: Tolerances) -> dict[str, Any]:
    """Engine tolerances as the page's fields."""
    floors = tolerances.fee_floor_minor
    return {
        "fee_percent": Decimal(tolerances.fee_bp) / 100,
        "fee_floor_usd": from_minor(floors.get("USD", 0)),
        "fee_floor_khr": from_minor(floors.get("KHR", 0)).quantize(Decimal(1)),
        "fee_floor_thb": from_minor(floors.get("THB", 0)),
        "fx_percent": Decimal(tolerances.fx_bp) / 100,
        "days_after_due": tolerances.days_after_due,
        "khqr_days_after_expiry": tolerances.khqr_days_after_expiry,
    }


def reconciliation_compare(
    *,
    merchant: Merchant,
    date_from: dt.date,
    date_to: dt.date,
    tolerances: Tolerances,
) -> Comparison:
    """Run the period with the current and the proposed tolerances, in memory:
    both counts, and the pairs that differ. The rows are read once."""
    if date_to < date_from:
        raise InvalidInput(f"to: {date_to} is before from: {date_from}", field="to")
    if (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise InvalidInput(
            f"period: at most {MAX_PERIOD_DAYS} days at a time", field="to"
        )
    loaded = rows_load(merchant=merchant, date_from=date_from, date_to=date_to)
    current = reconcile(loaded.expected, loaded.posted, loaded.settings)
    proposed_settings = dataclasses.replace(loaded.settings, tolerances=tolerances)
    proposed = reconcile(loaded.expected, loaded.posted, proposed_settings)
    before = {(m.expected_ids, m.posted_ids): m for m in current.matches}
    after = {(m.expected_ids, m.posted_ids): m for m in proposed.matches}
    changes: list[PairChange] = []
    changed = 0
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if (
            old is not None
            and new is not None
            and (
                (old.tier, old.rule, old.status, old.difference)
                == (new.tier, new.rule, new.status, new.difference)
            )
        ):
            continue
        changed += 1
        if len(changes) >= MAX_DIFFERENCES:
            continue
        shown = new or old
        changes.append(
            PairChange(
                expected_ids=key[0],
                posted_ids=key[1],
                current=_describe(old) if old else "",
                proposed=_describe(new) if new else "",
                difference=str(from_minor(shown.difference)) + f" {shown.currency}",
            )
        )
    return Comparison(
        date_from=date_from,
        date_to=date_to,
        current=_counts(current),
        proposed=_counts(proposed),
        changes=changes,
        changed=changed,
        current_tolerances=loaded.settings.tolerances,
        proposed_tolerances=tolerances,
    )


@transaction.atomic
def tolerances_update(
    *, merchant: Merchant, actor: Any, **values: Any
) -> TolerancesRow:
    """Save the merchant's tolerances (the next run uses them); the log keeps the
    old and the new values."""
    parsed = tolerances_parse(**values)
    row, _ = TolerancesRow.objects.select_for_update().get_or_create(merchant=merchant)
    before = {name: str(getattr(row, name)) for name in parsed}
    for name, value in parsed.items():
        setattr(row, name, value)
    row.updated_by = actor if getattr(actor, "is_authenticated", False) else None
    row.save()
    audit_event_record(
        merchant=merchant,
        action="reconciliation.tolerances.updated",
        obj=row,
        actor=actor,
        details={
            "before": before,
            "after": {name: str(value) for name, value in parsed.items()},
        },
    )
    return row
