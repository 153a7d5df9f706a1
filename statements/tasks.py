"""Celery tasks for statements: thin wrappers, ids in, one service each."""

from __future__ import annotations

from celery import shared_task

# --- documents (5b): statement packs --------------------------------------------


@shared_task(
    name="statements.build_pack",
    bind=True,
    acks_late=True,
    ignore_result=True,
    soft_time_limit=1800,
    time_limit=1900,
)
def build_pack(self, pack_id: int) -> None:
    """Build one requested statement pack; a duplicate message is a no-op."""
    from statements.services.packs import statement_pack_run

    statement_pack_run(pack_id=pack_id)


@shared_task(
    name="statements.sweep_packs", bind=True, acks_late=True, ignore_result=True
)
def sweep_packs(self) -> None:
    """Re-enqueue packs whose message was lost or whose worker died (beat, 5 min)."""
    from statements.services.packs import statement_pack_sweep

    statement_pack_sweep()


# --- end of documents (5b) ------------------------------------------------------


# --- ingest (5a): statement feed sync ---------------------------------------------

SYNC_LOCK_SECONDS = 1800
NIGHTLY_HOUR = 1  # local time: after 01:00 each feed connection syncs once a day


@shared_task(
    name="statements.sync_connection",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=6,
    soft_time_limit=900,
    time_limit=960,
)
def sync_connection(self, connection_id: int) -> None:
    """Sync one feed connection; 429/5xx/timeouts retry with backoff, and one
    connection never syncs twice at once (a duplicate message is a no-op)."""
    from django.core.cache import cache

    from core.exceptions import TransientError
    from core.retry import backoff_seconds
    from statements.services.feed_sync import statement_feed_sync

    lock = f"statements.sync.{connection_id}"
    if not cache.add(lock, self.request.id or "eager", SYNC_LOCK_SECONDS):
        return
    try:
        statement_feed_sync(connection_id=connection_id)
    except TransientError as exc:
        cache.delete(lock)
        raise self.retry(
            exc=exc,
            countdown=backoff_seconds(
                attempt=self.request.retries, retry_after=exc.retry_after
            ),
        ) from None
    finally:
        cache.delete(lock)


@shared_task(name="statements.sync_due", bind=True, acks_late=True, ignore_result=True)
def sync_due(self) -> None:
    """Enqueue every active feed connection not synced since last night's 01:00
    (run hourly, it is both the nightly job and the sweeper for lost messages)."""
    from statements.services.feed_sync import feed_connection_ids_due

    for connection_id in feed_connection_ids_due(nightly_hour=NIGHTLY_HOUR):
        sync_connection.delay(connection_id)


# --- end of ingest (5a) ----------------------------------------------------------
