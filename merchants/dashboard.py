"""Widgets that apps above merchants add to the dashboard: each app registers a
function of the request in its AppConfig.ready; it answers a template and its
context, or None to show nothing (merchants never imports those apps)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class DashboardWidget:
    template: str
    context: dict[str, Any] = field(default_factory=dict)


WidgetMaker = Callable[[HttpRequest], DashboardWidget | None]
_WIDGETS: list[WidgetMaker] = []


def dashboard_widget_register(maker: WidgetMaker) -> None:
    """Add a widget (once, however often ready() runs)."""
    if maker not in _WIDGETS:
        _WIDGETS.append(maker)


def dashboard_widgets(request: HttpRequest) -> list[DashboardWidget]:
    return [w for maker in _WIDGETS if (w := maker(request)) is not None]
