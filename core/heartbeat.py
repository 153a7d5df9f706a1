"""The beat's heartbeat: a tiny periodic task stamps the shared cache, and /readyz
reads how old the stamp is. A stale stamp means the beat is down, or no worker
consumes the `polling` queue (the tick's message expires there after 30 s)."""

from __future__ import annotations

from django.core.cache import cache
from django.utils import timezone

BEAT_TICK_CACHE_KEY = "tonle.beat.last_tick"


def beat_tick_record() -> float:
    """Stamp now (Unix seconds) as the beat's last tick; returns the stamp."""
    stamp = timezone.now().timestamp()
    cache.set(BEAT_TICK_CACHE_KEY, stamp, timeout=None)
    return stamp


def beat_tick_age_seconds() -> float | None:
    """Seconds since the last tick, or None if no tick was ever recorded."""
    stamp = cache.get(BEAT_TICK_CACHE_KEY)
    if stamp is None:
        return None
    return max(0.0, timezone.now().timestamp() - float(stamp))
