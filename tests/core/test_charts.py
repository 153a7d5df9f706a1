"""The dashboard's SVG charts as pure functions: bars proportional to their
amounts, ticks in the currency's places, every text escaped, a name and a
description for screen readers, and no style attribute for the CSP to refuse."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from core.charts import channel_bars, in_out_bars, line_chart, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [dt.date(2026, 11, 4) + dt.timedelta(days=n) for n in range(30)]


def proportional(sizes: tuple[Decimal, Decimal], amounts: tuple[int, int]) -> bool:
    """Sizes in the ratio of the amounts, but for the drawing's rounding of each
    edge to a tenth of a pixel."""
    (a, b), (x, y) = sizes, amounts
    return abs(a * y - b * x) <= Decimal("0.1") * (x + y)


def parse(markup: str) -> ET.Element:
    assert "style=" not in markup
    return ET.fromstring(markup)


def rects(root: ET.Element, css: str) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == css]


def texts(root: ET.Element, css: str) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text") if t.get("class") == css]


@pytest.mark.parametrize(
    ("low", "high", "currency", "expected"),
    [
        ("0", "987.10", "USD", "0.00 200.00 400.00 600.00 800.00 1000.00"),
        ("-123.45", "0", "USD", "-125.00 -100.00 -75.00 -50.00 -25.00 0.00"),
        ("0", "3", "KHR", "0 1 2 3"),
        ("0", "0", "KHR", "0 1"),
        ("0", "0.03", "USD", "0.00 0.01 0.02 0.03"),
        ("71401.40", "75772.65", "USD",
         "71000.00 72000.00 73000.00 74000.00 75000.00 76000.00"),
    ],
)  # fmt: skip
def test_ticks_are_round_numbers_in_the_currencys_places(low, high, currency, expected):
    ticks = nice_ticks(Decimal(low), Decimal(high), currency=currency)
    assert " ".join(str(t) for t in ticks) == expected


def test_riel_ticks_are_never_fractions_of_a_riel():
    # a span of 3 riel would like steps of 0.5 or 0.25
    ticks = nice_ticks(Decimal(0), Decimal(3), currency="KHR", count=6)
    assert all(t == t.to_integral_value() for t in ticks)


def test_money_in_bars_are_proportional_to_their_amounts():
    # given three days: 100, 250 and 0 riel in; 50 out on the second
    ins = [Decimal(100), Decimal(250), Decimal(0)]
    outs = [Decimal(0), Decimal(-50), Decimal(0)]
    # when drawn
    root = parse(
        in_out_bars(
            key="k",
            title="t",
            days=DAYS[:3],
            money_in=ins,
            money_out=outs,
            currency="KHR",
        )
    )
    # then each bar's height is its amount on one scale
    heights = [Decimal(r.get("height")) for r in rects(root, "chart-in")]
    out_heights = [Decimal(r.get("height")) for r in rects(root, "chart-out")]
    assert heights[2] == 0 and out_heights[0] == 0
    assert proportional((heights[1], heights[0]), (250, 100))
    assert proportional((heights[1], out_heights[1]), (250, 50))
    # money out hangs below the zero line where money in stands on it
    in_bar, out_bar = rects(root, "chart-in")[1], rects(root, "chart-out")[1]
    zero = Decimal(in_bar.get("y")) + Decimal(in_bar.get("height"))
    assert Decimal(out_bar.get("y")) == zero


def test_axis_labels_use_the_currencys_places_and_grouping():
    root = parse(
        in_out_bars(
            key="k",
            title="t",
            days=DAYS[:2],
            money_in=[Decimal("1200.00"), Decimal("1500.50")],
            money_out=[Decimal("0.00"), Decimal("0.00")],
            currency="USD",
        )
    )
    ticks = texts(root, "chart-tick")
    assert "1,500.00" in ticks and "0.00" in ticks


def test_each_day_says_its_figures_on_hover_and_every_seventh_day_is_named():
    root = parse(
        in_out_bars(
            key="k",
            title="t",
            days=DAYS,
            money_in=[Decimal(1000)] * 30,
            money_out=[Decimal(-400)] * 30,
            currency="KHR",
        )
    )
    tips = [t.text for g in root.iter(f"{SVG}g") for t in g.findall(f"{SVG}title")]
    assert tips[0] == "4 Nov 2026: in 1,000 KHR, out 400 KHR"
    assert len(tips) == 30
    # the last day (3 Dec) is always named, then every seventh day back
    named = [t for t in texts(root, "chart-tick") if t and t[0].isdigit() and " " in t]
    assert named == ["5 Nov", "12 Nov", "19 Nov", "26 Nov", "3 Dec"]


def test_a_chart_names_and_describes_itself_for_screen_readers():
    root = parse(
        in_out_bars(
            key="chart-usd-in-out",
            title="Money in and out per day, USD",
            days=DAYS[:2],
            money_in=[Decimal("10.00"), Decimal("30.00")],
            money_out=[Decimal("-5.00"), Decimal("0.00")],
            currency="USD",
        )
    )
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-usd-in-out-title chart-usd-in-out-desc"
    assert root.find(f"{SVG}title").text == "Money in and out per day, USD"
    desc = root.find(f"{SVG}desc").text
    assert "money in 40.00 USD, money out 5.00 USD" in desc
    assert "The most came in on 5 Nov 2026: 30.00 USD" in desc


def test_text_in_a_chart_is_escaped():
    markup = channel_bars(
        key="k",
        title="<script>alert(1)</script>",
        rows=[("A & <b>", Decimal("5.00"), Decimal("0.00"))],
        currency="USD",
    )
    assert "<script>" not in markup and "<b>" not in markup
    root = parse(markup)
    assert texts(root, "chart-label") == ["A & <b>"]


def test_a_chart_refuses_a_key_that_is_not_a_plain_id():
    with pytest.raises(ValueError, match="chart key"):
        line_chart(
            key='x" onload="alert(1)',
            title="t",
            days=DAYS[:1],
            values=[Decimal(1)],
            currency="KHR",
        )


def test_a_chart_refuses_floats():
    with pytest.raises(TypeError, match="Decimal, not float"):
        line_chart(key="k", title="t", days=DAYS[:1], values=[1.5], currency="USD")


def test_a_chart_refuses_a_series_that_does_not_fit_its_days():
    with pytest.raises(ValueError, match="2 values for 3 days"):
        line_chart(
            key="k", title="t", days=DAYS[:3], values=[Decimal(1)] * 2, currency="USD"
        )


def test_channel_bars_are_proportional_and_say_their_share():
    # given KHQR 300 in, transfers 100 in and 200 out
    root = parse(
        channel_bars(
            key="k",
            title="t",
            rows=[
                ("KHQR", Decimal("300.00"), Decimal("0.00")),
                ("Transfer", Decimal("100.00"), Decimal("-200.00")),
            ],
            currency="USD",
        )
    )
    # then the widths share one scale, in and out alike
    in_widths = [Decimal(r.get("width")) for r in rects(root, "chart-in")][:-1]
    out_widths = [Decimal(r.get("width")) for r in rects(root, "chart-out")][:-1]
    assert proportional((in_widths[0], in_widths[1]), (300, 100))
    assert proportional((out_widths[0], in_widths[1]), (200, 100))
    # and each bar says its amount and its share of all the money in (or out)
    assert texts(root, "chart-value") == [
        "300.00 · 75%",
        "100.00 · 25%",
        "200.00 · 100%",
    ]
    assert texts(root, "chart-label") == ["KHQR", "Transfer"]


def test_a_cash_position_near_its_top_fits_the_axis_to_its_moves():
    # given a large balance that moves by a few per cent
    values = [Decimal("71401.40"), Decimal("73000.00"), Decimal("75772.65")]
    root = parse(
        line_chart(key="k", title="t", days=DAYS[:3], values=values, currency="USD")
    )
    # then the axis starts near the lowest value, not at zero, and no area is shaded
    ticks = texts(root, "chart-tick")
    assert ticks[0] == "71,000.00" and "0.00" not in ticks
    assert root.find(f"{SVG}polygon") is None
    # and each point says its day's figure
    points = list(root.iter(f"{SVG}circle"))
    assert len(points) == 3
    ys = [Decimal(p.get("cy")) for p in points]
    assert ys[0] > ys[1] > ys[2]  # rising money, rising line


def test_a_cash_position_that_starts_small_is_drawn_from_zero():
    values = [Decimal(100), Decimal(2000), Decimal(-300)]
    root = parse(
        line_chart(key="k", title="t", days=DAYS[:3], values=values, currency="KHR")
    )
    ticks = texts(root, "chart-tick")
    assert "0" in ticks and ticks[0].startswith("-")
    assert root.find(f"{SVG}polygon") is not None
    desc = root.find(f"{SVG}desc").text
    assert "lowest -300 KHR, highest 2,000 KHR" in desc
