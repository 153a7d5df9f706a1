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


# --- end of documents (5b) ------------------------------------------------------
