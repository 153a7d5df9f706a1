"""Statement feed gauges for /metrics: how stale the stalest feed is, and how many
feeds failed or never synced. Deployment-wide, over the small connections table."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from merchants.models import Connection, ConnectionProvider, SyncStatus


def feed_metrics() -> Iterator[Metric]:
    now = timezone.now()
    feeds = Connection.objects.filter(
        provider=ConnectionProvider.STATEMENT_FEED, revoked_at__isnull=True
    ).aggregate(
        oldest=Min("last_sync_at"),
        never=Count("pk", filter=Q(last_sync_at__isnull=True)),
        failed=Count("pk", filter=Q(last_sync_status=SyncStatus.FAILED)),
    )
    age = (now - feeds["oldest"]).total_seconds() if feeds["oldest"] else 0.0
    yield GaugeMetricFamily(
        "tonle_feed_sync_age_seconds",
        "Seconds since the least recently synced active statement feed last synced",
        value=age,
    )
    yield GaugeMetricFamily(
        "tonle_feed_connections_never_synced",
        "Active statement feeds that never synced",
        value=feeds["never"],
    )
    yield GaugeMetricFamily(
        "tonle_feed_connections_failed",
        "Active statement feeds whose last sync failed",
        value=feeds["failed"],
    )
