"""Celery tasks of the shared kernel."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="core.beat_tick", ignore_result=True)
def beat_tick() -> None:
    """Stamp the beat's last tick for /readyz (idempotent: a later stamp wins)."""
    from core.heartbeat import beat_tick_record

    beat_tick_record()
