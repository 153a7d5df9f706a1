"""Widgets that apps above merchants add to the dashboard: each app registers a
function of the request in its AppConfig.ready; it answers a template and its
context, or None to show nothing (merchants never imports those apps).

A widget names the slot of the page it fills: `totals` (beside the balances at
the top), `summary` (the day's figures under them), `charts`, or `main` (after
the charts, before the accounts); within a slot, widgets keep the order in
which they were registered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

SLOT_TOTALS = "totals"
SLOT_SUMMARY = "summary"
SLOT_CHARTS = "charts"
SLOT_MAIN = "main"
SLOTS = (SLOT_TOTALS, SLOT_SUMMARY, SLOT_CHARTS, SLOT_MAIN)


@dataclass(frozen=True)
class DashboardWidget:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    slot: str = SLOT_MAIN

    def __post_init__(self) -> None:
        if self.slot not in SLOTS:
            raise ValueError(f"slot: {self.slot!r} is not one of {', '.join(SLOTS)}")


WidgetMaker = Callable[[HttpRequest], DashboardWidget | None]
_WIDGETS: list[WidgetMaker] = []


def dashboard_widget_register(maker: WidgetMaker) -> None:
    """Add a widget (once, however often ready() runs)."""
    if maker not in _WIDGETS:
        _WIDGETS.append(maker)


def dashboard_widgets(request: HttpRequest) -> list[DashboardWidget]:
    return [w for maker in _WIDGETS if (w := maker(request)) is not None]


def dashboard_slots(request: HttpRequest) -> dict[str, list[DashboardWidget]]:
    """Every widget of the page, by the slot it fills (each slot present)."""
    slots: dict[str, list[DashboardWidget]] = {slot: [] for slot in SLOTS}
    for widget in dashboard_widgets(request):
        slots[widget.slot].append(widget)
    return slots
