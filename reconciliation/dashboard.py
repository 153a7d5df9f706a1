"""The reconciliation widget of the dashboard: this month's match rate, what is
unmatched or proposed, the open exceptions and the oldest one, each a link to
its list."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from merchants.dashboard import DashboardWidget
from reconciliation.selectors import month_summary


def reconciliation_widget(request: HttpRequest) -> DashboardWidget | None:
    merchant = getattr(request, "merchant", None)
    if merchant is None:
        return None
    today = timezone.localdate()
    summary = month_summary(merchant=merchant, month=today)
    return DashboardWidget(
        template="reconciliation/_dashboard.html",
        context={
            "summary": summary,
            "age": (today - summary.oldest_open.day).days
            if summary.oldest_open
            else None,
        },
    )
