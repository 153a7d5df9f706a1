"""Prometheus metrics at /metrics, computed when scraped.

Nothing is counted in process memory: several gunicorn processes on several
machines would each hold a part. Every figure is read at scrape time from what all
processes share, the database and the broker, with cheap indexed queries, so any
web process answers for the whole deployment.

Apps add their gauges through `metric_source_register` in their AppConfig.ready
(core imports no app above it). The endpoint answers only a bearer token equal to
METRICS_TOKEN; with no token set it does not exist (404).
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.downloads import no_store
from core.heartbeat import beat_tick_age_seconds

logger = logging.getLogger("tonle.metrics")

MetricSource = Callable[[], Iterable[Metric]]
_SOURCES: dict[str, MetricSource] = {}

# kombu's Redis transport keeps a queue's messages of priority p > 0 in
# "<queue>\x06\x16<p>" (default steps 0, 3, 6, 9)
REDIS_PRIORITY_SEPARATOR = "\x06\x16"
REDIS_PRIORITY_STEPS = (0, 3, 6, 9)
BROKER_TIMEOUT_SECONDS = 2.0


def metric_source_register(name: str, source: MetricSource) -> None:
    """Add (or replace, by name) a callable yielding metric families per scrape."""
    _SOURCES[name] = source


def queue_lengths() -> dict[str, int]:
    """Messages waiting in each Celery queue (Redis LLEN, or the filesystem
    broker's files); empty for a broker that reports its own (RabbitMQ)."""
    url = settings.CELERY_BROKER_URL
    options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {})
    queues = list(settings.CELERY_TASK_QUEUES)
    if url.startswith("filesystem"):
        folder = Path(options.get("data_folder_in", "."))
        names = [entry.name for entry in os.scandir(folder)] if folder.is_dir() else []
        return {
            queue: sum(1 for name in names if name.endswith(f".{queue}.msg"))
            for queue in queues
        }
    if url.startswith(("redis://", "rediss://")):
        import redis

        prefix = options.get("global_keyprefix", "")
        client = redis.Redis.from_url(
            url,
            socket_timeout=BROKER_TIMEOUT_SECONDS,
            socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
        )
        try:
            pipe = client.pipeline(transaction=False)
            for queue in queues:
                for step in REDIS_PRIORITY_STEPS:
                    suffix = f"{REDIS_PRIORITY_SEPARATOR}{step}" if step else ""
                    pipe.llen(f"{prefix}{queue}{suffix}")
            counts = iter(pipe.execute())
        finally:
            client.close()
        return {
            queue: sum(next(counts) for _ in REDIS_PRIORITY_STEPS) for queue in queues
        }
    return {}


def broker_metrics() -> Iterator[Metric]:
    gauge = GaugeMetricFamily(
        "tonle_celery_queue_length",
        "Messages waiting in a Celery queue",
        labels=["queue"],
    )
    for queue, length in sorted(queue_lengths().items()):
        gauge.add_metric([queue], length)
    yield gauge


def beat_metrics() -> Iterator[Metric]:
    age = beat_tick_age_seconds()
    yield GaugeMetricFamily(
        "tonle_beat_tick_age_seconds",
        "Seconds since the beat's heartbeat last ran (-1: never)",
        value=-1 if age is None else age,
    )


metric_source_register("broker", broker_metrics)
metric_source_register("beat", beat_metrics)


class _ScrapeCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        errors = GaugeMetricFamily(
            "tonle_metrics_source_up",
            "1 if a metric source answered this scrape, 0 if it failed",
            labels=["source"],
        )
        for name, source in sorted(_SOURCES.items()):
            try:
                families = list(source())
            except Exception as exc:  # one broken source must not hide the others
                logger.warning(
                    "metrics.source.failed", extra={"source": name, "error": repr(exc)}
                )
                errors.add_metric([name], 0)
                continue
            errors.add_metric([name], 1)
            yield from families
        yield errors


def metrics_exposition() -> bytes:
    """The text exposition of every registered source, computed now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ScrapeCollector())
    return generate_latest(registry)


def _authorised(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@csrf_exempt
@require_http_methods(["GET"])
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape target: bearer METRICS_TOKEN, 404 when none is set."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("metrics are off")
    if not _authorised(request, token):
        response = HttpResponse("unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return no_store(response)
    return no_store(
        HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_LATEST)
    )
