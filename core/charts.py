"""Charts drawn on the server as SVG, so the dashboard needs no script and no CDN.
No Django imports: series of Decimal amounts in, SVG markup out.

Every value is placed with Decimal arithmetic (a bar's height is its amount over
the axis's span, times the plot's height), ticks are round numbers in the
currency's shown places, and colours come from the stylesheet through classes
(the Content-Security-Policy refuses `style=` attributes). Each chart names
itself for screen readers (`role="img"`, `<title>`, `<desc>`), and each bar or
point carries its own `<title>`, which browsers show on hover.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from html import escape

from django.utils import dateformat
from django.utils.translation import gettext

from core.money import format_amount, format_number, quantum

WIDTH = 640
PIXEL = Decimal("0.1")
CHAR_WIDTH = Decimal("6.6")  # an 11 px digit of Noto Sans, rounded up
TICKS = 4
_KEY = re.compile(r"^[a-z][a-z0-9-]*$")


def nice_ticks(
    low: Decimal, high: Decimal, *, currency: str, count: int = TICKS
) -> list[Decimal]:
    """Round values (1, 2, 2.5 or 5 × 10ⁿ apart, a whole number of the
    currency's smallest shown unit) from at most `low` to at least `high`, at
    most `count` + 1 intervals, zero among them whenever the range crosses it."""
    low, high = min(low, high), max(low, high)
    if low == high:
        low, high = min(low, Decimal(0)), max(high, Decimal(0))
    if low == high:  # nothing but zeros: a small axis all the same
        high = Decimal(1)
    unit = quantum(currency)
    exponent = ((high - low) / count).adjusted()
    # ten times the raw step spans the range: the loop always returns
    for power in range(exponent - 1, max(exponent, unit.adjusted()) + 3):
        for multiple in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)):
            step = multiple.scaleb(power)
            if step < unit or step % unit:
                continue
            first = (low / step).to_integral_value(rounding=ROUND_FLOOR)
            last = (high / step).to_integral_value(rounding=ROUND_CEILING)
            if last - first <= count + 1:
                return [
                    ((first + i) * step).quantize(unit)
                    for i in range(int(last - first) + 1)
                ]
    raise AssertionError("unreachable")


def short_day(day: dt.date) -> str:
    # Django's month names: "3 Apr" in English, the Khmer month on a Khmer page
    return dateformat.format(day, "j M")


def long_day(day: dt.date) -> str:
    return dateformat.format(day, "j M Y")


def in_out_bars(
    *,
    key: str,
    title: str,
    days: Sequence[dt.date],
    money_in: Sequence[Decimal],
    money_out: Sequence[Decimal],
    currency: str,
    height: int = 240,
) -> str:
    """Money in above the zero line and money out below it, one pair of bars a
    day; `money_out` may be given signed or as magnitudes."""
    _check(key, days, money_in, money_out)
    ins = [abs(v) for v in money_in]
    outs = [abs(v) for v in money_out]
    ticks = nice_ticks(
        -max(outs, default=Decimal(0)), max(ins, default=Decimal(0)), currency=currency
    )
    frame = _Frame(ticks=ticks, currency=currency, height=height, legend=True)
    parts = frame.axes()
    slot = frame.plot_width / max(len(days), 1)
    bar = slot * Decimal("0.7")
    zero = frame.y(Decimal(0))
    for i, day in enumerate(days):
        x = frame.left + slot * i + (slot - bar) / 2
        top = frame.y(ins[i])
        bottom = frame.y(-outs[i])
        tip = gettext("%(day)s: in %(in)s, out %(out)s") % {
            "day": long_day(day),
            "in": format_amount(ins[i], currency),
            "out": format_amount(outs[i], currency),
        }
        parts.append(
            f'<g class="chart-day"><title>{escape(tip)}</title>'
            f'<rect class="chart-in" x="{_n(x)}" y="{_n(top)}" '
            f'width="{_n(bar)}" height="{_n(zero - top)}"/>'
            f'<rect class="chart-out" x="{_n(x)}" y="{_n(zero)}" '
            f'width="{_n(bar)}" height="{_n(bottom - zero)}"/>'
            # the whole day's column answers the hover, not only a thin bar
            f'<rect class="chart-hit" x="{_n(frame.left + slot * i)}" '
            f'y="{_n(frame.top)}" width="{_n(slot)}" '
            f'height="{_n(frame.plot_height)}"/></g>'
        )
    parts += frame.day_labels(days)
    parts += _legend(
        [("chart-in", gettext("Money in")), ("chart-out", gettext("Money out"))]
    )
    total_in, total_out = sum(ins, Decimal(0)), sum(outs, Decimal(0))
    desc = (
        gettext("%(days)s days to %(last)s: money in %(in)s, money out %(out)s.")
        % {
            "days": len(days),
            "last": long_day(days[-1]),
            "in": format_amount(total_in, currency),
            "out": format_amount(total_out, currency),
        }
        if days
        else gettext("No days.")
    )
    if days and total_in:
        best = max(range(len(days)), key=lambda i: (ins[i], i))
        desc += " " + gettext("The most came in on %(day)s: %(amount)s.") % {
            "day": long_day(days[best]),
            "amount": format_amount(ins[best], currency),
        }
    return _svg(key, title, desc, frame.height, parts, "chart-in-out")


def channel_bars(
    *,
    key: str,
    title: str,
    rows: Sequence[tuple[str, Decimal, Decimal]],
    currency: str,
) -> str:
    """Per (label, money in, money out), a bar of what came in over a bar of
    what went out, all on one scale, each with its amount and its share of all
    the money in (or out) written beside it; `money out` signed or not."""
    if not _KEY.match(key):
        raise ValueError(f"chart key {key!r}: lower-case letters, digits, dashes")
    rows = [(label, abs(i), abs(o)) for label, i, o in rows]
    for _, money_in, money_out in rows:
        _check_amount(money_in)
        _check_amount(money_out)
    total_in = sum((i for _, i, _ in rows), Decimal(0))
    total_out = sum((o for _, _, o in rows), Decimal(0))
    biggest = max((max(i, o) for _, i, o in rows), default=Decimal(0))
    texts = [
        (
            f"{format_number(i, currency)} · {_share(i, total_in)}" if i else "",
            f"{format_number(o, currency)} · {_share(o, total_out)}" if o else "",
        )
        for _, i, o in rows
    ]
    label_width = _text_width(max((len(label) for label, _, _ in rows), default=4))
    value_width = _text_width(max((len(t) for pair in texts for t in pair), default=4))
    left = label_width + 12
    plot_width = Decimal(WIDTH) - left - value_width - 14
    # a row holds the bars it has (in above out), with a gap under it
    bar_height, bar_gap, row_gap = Decimal(12), Decimal(2), Decimal(10)
    y = Decimal(24)
    parts = []
    for (label, money_in, money_out), pair in zip(rows, texts, strict=True):
        tip = gettext("%(day)s: in %(in)s, out %(out)s") % {
            "day": label,
            "in": format_amount(money_in, currency),
            "out": format_amount(money_out, currency),
        }
        drawn = [
            (css, amount, text)
            for css, amount, text in (
                ("chart-in", money_in, pair[0]),
                ("chart-out", money_out, pair[1]),
            )
            if amount
        ] or [("chart-in", Decimal(0), "")]
        bars = []
        for n, (css, amount, text) in enumerate(drawn):
            top = y + (bar_height + bar_gap) * n
            width = (
                (amount / biggest * plot_width).quantize(PIXEL, ROUND_HALF_UP)
                if biggest > 0
                else Decimal(0)
            )
            bars.append(
                f'<rect class="{css}" x="{_n(left)}" y="{_n(top)}" '
                f'width="{_n(width)}" height="{_n(bar_height)}"/>'
                f'<text class="chart-value" x="{_n(left + width + 6)}" '
                f'y="{_n(top + 10)}">{escape(text)}</text>'
            )
        row = (bar_height + bar_gap) * len(drawn) - bar_gap
        parts.append(
            f'<g class="chart-row"><title>{escape(tip)}</title>'
            f'<rect class="chart-hit" x="0" y="{_n(y - row_gap / 2)}" '
            f'width="{WIDTH}" height="{_n(row + row_gap)}"/>'
            f'<text class="chart-label" x="{_n(left - 8)}" '
            f'y="{_n(y + row / 2 + 4)}" text-anchor="end">{escape(label)}</text>'
            + "".join(bars)
            + "</g>"
        )
        y += row + row_gap
    height = int(y) + 2
    parts += _legend(
        [("chart-in", gettext("Money in")), ("chart-out", gettext("Money out"))]
    )
    if rows:
        listed = "; ".join(
            gettext("%(channel)s in %(in)s, out %(out)s")
            % {
                "channel": label,
                "in": format_amount(i, currency),
                "out": format_amount(o, currency),
            }
            for label, i, o in rows
        )
        desc = gettext("Money in %(in)s, money out %(out)s: %(listed)s.") % {
            "in": format_amount(total_in, currency),
            "out": format_amount(total_out, currency),
            "listed": listed,
        }
    else:
        desc = gettext("No money in or out.")
    return _svg(key, title, desc, height, parts, "chart-channels")


def line_chart(
    *,
    key: str,
    title: str,
    days: Sequence[dt.date],
    values: Sequence[Decimal],
    currency: str,
    height: int = 200,
) -> str:
    """A value at the end of each day, joined by a line. The axis starts at
    zero, with the area under the line shaded, unless the values stay above
    half their highest: then it fits them, so a month's moves of a large
    balance are not a flat line (and nothing is shaded, as no area means
    anything without zero)."""
    _check(key, days, values)
    zero = Decimal(0)
    low, high = min(values, default=zero), max(values, default=zero)
    if low < 0 < high or high <= 0 or low * 2 <= high:
        low, high = min(low, zero), max(high, zero)
    ticks = nice_ticks(low, high, currency=currency)
    frame = _Frame(ticks=ticks, currency=currency, height=height, legend=False)
    parts = frame.axes()
    slot = frame.plot_width / max(len(days), 1)
    points = [
        (frame.left + slot * i + slot / 2, frame.y(value))
        for i, value in enumerate(values)
    ]
    if points:
        line = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        if ticks[0] <= zero <= ticks[-1]:
            base = frame.y(zero)
            first, last = _n(points[0][0]), _n(points[-1][0])
            area = f"{first},{_n(base)} {line} {last},{_n(base)}"
            parts.append(f'<polygon class="chart-area" points="{area}"/>')
        parts.append(f'<polyline class="chart-line" points="{line}"/>')
        for (x, y), day, value in zip(points, days, values, strict=True):
            tip = f"{long_day(day)}: {format_amount(value, currency)}"
            parts.append(
                f'<g class="chart-point"><title>{escape(tip)}</title>'
                f'<rect class="chart-hit" x="{_n(x - slot / 2)}" y="{_n(frame.top)}" '
                f'width="{_n(slot)}" height="{_n(frame.plot_height)}"/>'
                f'<circle cx="{_n(x)}" cy="{_n(y)}" r="2.5"/></g>'
            )
    parts += frame.day_labels(days)
    if values:
        low, high = min(values), max(values)
        desc = gettext(
            "%(first)s at the end of %(first_day)s, %(last)s at the end of "
            "%(last_day)s; lowest %(low)s, highest %(high)s."
        ) % {
            "first": format_amount(values[0], currency),
            "first_day": long_day(days[0]),
            "last": format_amount(values[-1], currency),
            "last_day": long_day(days[-1]),
            "low": format_amount(low, currency),
            "high": format_amount(high, currency),
        }
    else:
        desc = gettext("No days.")
    return _svg(key, title, desc, frame.height, parts, "chart-position")


class _Frame:
    """The plot area, the value axis with its ticks and grid, and the day axis."""

    def __init__(
        self, *, ticks: list[Decimal], currency: str, height: int, legend: bool
    ) -> None:
        self.ticks = ticks
        self.currency = currency
        self.labels = [format_number(t, currency) for t in ticks]
        self.left = _text_width(max(len(t) for t in self.labels)) + 10
        self.top = Decimal(26 if legend else 10)
        self.height = height
        self.plot_height = Decimal(height) - self.top - 24
        self.plot_width = Decimal(WIDTH) - self.left - 8

    def y(self, value: Decimal) -> Decimal:
        span = self.ticks[-1] - self.ticks[0]
        offset = (self.ticks[-1] - value) / span * self.plot_height
        return (self.top + offset).quantize(PIXEL, ROUND_HALF_UP)

    def axes(self) -> list[str]:
        parts = []
        for tick, label in zip(self.ticks, self.labels, strict=True):
            y = self.y(tick)
            kind = "chart-zero" if tick == 0 else "chart-grid"
            parts.append(
                f'<line class="{kind}" x1="{_n(self.left)}" x2="{WIDTH - 8}" '
                f'y1="{_n(y)}" y2="{_n(y)}"/>'
                f'<text class="chart-tick" x="{_n(self.left - 6)}" y="{_n(y + 4)}" '
                f'text-anchor="end">{escape(label)}</text>'
            )
        return parts

    def day_labels(self, days: Sequence[dt.date]) -> list[str]:
        """Every seventh day back from the last one, so today is always named."""
        slot = self.plot_width / max(len(days), 1)
        baseline = self.top + self.plot_height + 16
        return [
            f'<text class="chart-tick" x="{_n(self.left + slot * i + slot / 2)}" '
            f'y="{_n(baseline)}" text-anchor="middle">{short_day(day)}</text>'
            for i, day in enumerate(days)
            if (len(days) - 1 - i) % 7 == 0
        ]


def _legend(entries: list[tuple[str, str]]) -> list[str]:
    """Small keys at the top right, in the order given."""
    parts, x = [], Decimal(WIDTH - 8)
    for css, text in reversed(entries):
        x -= _text_width(len(text)) + 22
        parts.append(
            f'<rect class="{css}" x="{_n(x)}" y="6" width="10" height="10"/>'
            f'<text class="chart-tick" x="{_n(x + 14)}" y="15">'
            f"{escape(text)}</text>"
        )
    return parts


def _svg(key: str, title: str, desc: str, height: int, parts: list[str], kind: str):
    return (
        f'<svg class="chart {kind}" id="{key}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-labelledby="{key}-title {key}-desc" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{key}-title">{escape(title)}</title>'
        f'<desc id="{key}-desc">{escape(desc)}</desc>' + "".join(parts) + "</svg>"
    )


def _check(key: str, days: Sequence[dt.date], *series: Sequence[Decimal]) -> None:
    if not _KEY.match(key):
        raise ValueError(f"chart key {key!r}: lower-case letters, digits, dashes")
    for values in series:
        if len(values) != len(days):
            raise ValueError(f"{len(values)} values for {len(days)} days")
        for value in values:
            _check_amount(value)


def _check_amount(value: object) -> None:
    if not isinstance(value, Decimal):
        raise TypeError(f"chart values are Decimal, not {type(value).__name__}")


def _share(amount: Decimal, total: Decimal) -> str:
    if total <= 0:
        return "0%"
    percent = (amount * 100 / total).quantize(Decimal(1), ROUND_HALF_UP)
    return f"{percent}%"


def _text_width(chars: int) -> Decimal:
    return (CHAR_WIDTH * chars).quantize(Decimal(1), ROUND_CEILING)


def _n(value: Decimal | int) -> str:
    """A coordinate as SVG reads it: at most one decimal, no exponent."""
    text = format(Decimal(value).quantize(PIXEL, ROUND_HALF_UP), "f")
    return text[:-2] if text.endswith(".0") else text
