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


def _task_retry_policy():
    from core.retry import RetryPolicy

    # a worker does not wait in place: each retry is a new message with a countdown,
    # so the bound is on tries, not on the total wait
    return RetryPolicy(max_tries=7, max_total_wait=None, cap=600.0)


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
    """Sync one feed connection; 429/5xx/timeouts retry with backoff (the policy of
    core.retry, Retry-After honoured, 7 tries), and one connection never syncs twice
    at once (a duplicate message is a no-op). A connection without consent is
    skipped, its reason recorded, never retried."""
    import logging

    from django.core.cache import cache

    from core.exceptions import TransientError
    from merchants.exceptions import ConsentRefused
    from statements.services.feed_sync import (
        BANK,
        feed_sync_gave_up,
        statement_feed_sync,
    )

    logger = logging.getLogger("tonle.statements")
    lock = f"statements.sync.{connection_id}"
    if not cache.add(lock, self.request.id or "eager", SYNC_LOCK_SECONDS):
        return
    try:
        statement_feed_sync(connection_id=connection_id)
    except ConsentRefused as exc:
        logger.info(
            "statements.feed.skipped",
            extra={"connection": connection_id, "reason": exc.message},
        )
    except TransientError as exc:
        cache.delete(lock)
        policy = _task_retry_policy()
        tries = self.request.retries + 1
        countdown = policy.delay(tries=tries, error=exc)
        if countdown is None:
            gave_up = policy.exhausted(subject=BANK, tries=tries, errors=[exc])
            feed_sync_gave_up(
                connection_id=connection_id, message=f"gave up: {gave_up.message}"
            )
            logger.warning(
                "statements.feed.gave_up",
                extra={"connection": connection_id, "reason": gave_up.message},
            )
            return
        raise self.retry(
            exc=exc, countdown=countdown, max_retries=policy.max_tries - 1
        ) from None
    finally:
        cache.delete(lock)


@shared_task(name="statements.sync_due", bind=True, acks_late=True, ignore_result=True)
def sync_due(self) -> None:
    """Enqueue every active feed connection not synced since last night's 01:00
    (run hourly, it is both the nightly job and the sweeper for lost messages); one
    whose consent has ended or does not cover statements is skipped, the reason
    recorded on it."""
    from statements.services.feed_sync import feed_sync_due

    for connection_id in feed_sync_due(nightly_hour=NIGHTLY_HOUR):
        sync_connection.delay(connection_id)


# --- end of ingest (5a) ----------------------------------------------------------
