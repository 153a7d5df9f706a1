"""Day and period bounds in an account's own zone, as UTC instants.

Phnom Penh and Bangkok are both UTC+7 with no DST today, but a statement is bound to
the zone's calendar, so every bound is computed here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from core.exceptions import InvalidInput

PHNOM_PENH = ZoneInfo("Asia/Phnom_Penh")
BANGKOK = ZoneInfo("Asia/Bangkok")


def date_parse(
    value: str | None, *, field: str, required: bool = True
) -> dt.date | None:
    """A YYYY-MM-DD option or query parameter; InvalidInput names the field."""
    if not value:
        if required:
            raise InvalidInput(f"{field}: required (YYYY-MM-DD)", field=field)
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{field}: {value!r} is not a date (use YYYY-MM-DD)", field=field
        ) from None


def zone_for_currency(currency: str) -> ZoneInfo:
    return BANGKOK if currency == "THB" else PHNOM_PENH


def day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone).astimezone(dt.UTC)


def period_bounds(
    date_from: dt.date, date_to: dt.date, zone: ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC covering whole local days date_from..date_to inclusive."""
    if date_to < date_from:
        raise ValueError(f"period ends ({date_to}) before it starts ({date_from})")
    return day_start(date_from, zone), day_start(date_to + dt.timedelta(days=1), zone)


def local_date(instant: dt.datetime, zone: ZoneInfo) -> dt.date:
    return instant.astimezone(zone).date()
