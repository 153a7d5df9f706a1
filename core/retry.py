"""Backoff for Celery retries: exponential, full jitter, bounded, and never sooner
than a server's Retry-After."""

from __future__ import annotations

import random


def backoff_seconds(
    *,
    attempt: int,
    base: float = 2.0,
    cap: float = 600.0,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Delay before retry number `attempt` (0-based)."""
    ceiling = min(cap, base * (2**attempt))
    delay = (rng or random).uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return round(delay, 3)
