"""Daily exchange rates from a CSV: exact, replaceable, all rows or none."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from core.exceptions import InvalidInput
from reconciliation.models import ExchangeRate
from reconciliation.services.rates import exchange_rates_import, rate_on


def _csv(*rows: str) -> bytes:
    return ("date,base,quote,rate\n" + "\n".join(rows) + "\n").encode()


@pytest.mark.django_db
def test_rates_import_keeps_each_rate_exactly_as_written():
    result = exchange_rates_import(
        file_bytes=_csv("2026-01-05, USD, KHR, 4012", "2026-01-05,THB,USD,0.028571")
    )
    assert result.as_dict() == {"inserted": 2, "updated": 0, "errors": []}
    rate = ExchangeRate.objects.get(base="THB", quote="USD")
    assert rate.rate == Decimal("0.028571")
    assert str(rate.rate) == "0.028571"


@pytest.mark.django_db
def test_a_new_figure_for_a_day_replaces_the_old_one_and_says_so():
    exchange_rates_import(file_bytes=_csv("2026-01-05,USD,KHR,4012"))
    again = exchange_rates_import(
        file_bytes=_csv("2026-01-05,USD,KHR,4013", "2026-01-06,USD,KHR,4010")
    )
    assert again.as_dict() == {"inserted": 1, "updated": 1, "errors": []}
    assert ExchangeRate.objects.get(date=dt.date(2026, 1, 5)).rate == Decimal("4013")


@pytest.mark.django_db
def test_one_bad_row_refuses_the_file_and_names_each_problem():
    result = exchange_rates_import(
        file_bytes=_csv(
            "2026-01-05,USD,KHR,4012",
            "2026-01-06,USD,EUR,1.1",
            "2026-01-07,USD,USD,1",
            "2026-01-08,USD,KHR,-4",
            "05/01/2026,USD,KHR,4012",
        )
    )
    assert [(e["row"], e["field"]) for e in result.errors] == [
        (3, "quote"),
        (4, "quote"),
        (5, "rate"),
        (6, "date"),
    ]
    assert ExchangeRate.objects.count() == 0


@pytest.mark.django_db
def test_a_file_without_the_rate_column_is_refused():
    with pytest.raises(InvalidInput, match="column missing: rate"):
        exchange_rates_import(file_bytes=b"date,base,quote\n2026-01-05,USD,KHR\n")


@pytest.mark.django_db
def test_rate_on_takes_the_newest_rate_of_the_week_in_either_direction():
    exchange_rates_import(
        file_bytes=_csv("2026-01-02,USD,THB,35", "2026-01-05,THB,USD,0.025")
    )
    rate, day = rate_on(day=dt.date(2026, 1, 7), base="USD", quote="THB")
    assert (rate, day) == (Decimal(40), dt.date(2026, 1, 5))
    assert rate_on(day=dt.date(2026, 1, 20), base="USD", quote="THB") is None


@pytest.mark.django_db
def test_import_rates_command_prints_the_contract(tmp_path, capsys):
    path = tmp_path / "rates.csv"
    path.write_bytes(_csv("2026-01-05,USD,KHR,4012"))
    call_command("import_rates", str(path), "--json")
    assert json.loads(capsys.readouterr().out) == {
        "inserted": 1,
        "updated": 0,
        "errors": [],
    }


@pytest.mark.django_db
def test_import_rates_command_exits_non_zero_on_a_refused_file(tmp_path, capsys):
    path = tmp_path / "rates.csv"
    path.write_bytes(_csv("2026-01-05,USD,KHR,abc"))
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_rates", str(path), "--json")
    assert exit_info.value.code == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["errors"][0]["field"] == "rate"
