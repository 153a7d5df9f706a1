import datetime as dt

import pytest

from core.exceptions import InvalidInput
from core.periods import date_parse, period_bounds, zone_for_currency


def test_date_parse_reads_iso_dates():
    assert date_parse("2026-11-30", field="to") == dt.date(2026, 11, 30)


def test_date_parse_names_the_field_of_a_bad_date():
    with pytest.raises(InvalidInput, match=r"^from: '2026-13-01' is not a date"):
        date_parse("2026-13-01", field="from")


def test_date_parse_requires_a_value_unless_optional():
    with pytest.raises(InvalidInput, match="from: required"):
        date_parse("", field="from")
    assert date_parse(None, field="from", required=False) is None


def test_a_phnom_penh_day_starts_at_17_utc_the_day_before():
    start, end = period_bounds(
        dt.date(2026, 12, 1), dt.date(2026, 12, 1), zone_for_currency("KHR")
    )
    assert start == dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(days=1)
