"""Two beat processes at once (a second machine started with the beat by mistake,
or a beat restarted while its twin still runs): every periodic task is sent
twice. Celery has no guard against that; each task's own guard must make the
second run a no-op. Here the nightly reconciliation, sent by both beats, runs
twice for one merchant at the same moment on PostgreSQL (each run loaded and
matched before either writes): the month must hold one set of matches."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import connection
from freezegun import freeze_time

from reconciliation.models import Match, MatchItem, MatchStatus
from reconciliation.services import runs
from reconciliation.tasks import reconcile_merchant, reconcile_nightly
from tests.reconciliation.review_makers import invoice, month_with_proposals, paid

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="two runs writing at once need PostgreSQL (SQLite serialises them)",
    ),
]

LIVE = (MatchStatus.AUTO, MatchStatus.PROPOSED, MatchStatus.CONFIRMED)


def _live_items() -> Counter:
    """How many live matches each row is in."""
    items = MatchItem.objects.filter(match__status__in=LIVE)
    return Counter(
        (item.kind, item.transaction_id or item.invoice_id) for item in items
    )


def _all_matched(merchant, account) -> None:
    """A month whose every row matches (so no exception row to collide on)."""
    for n, amount in enumerate(["120.00", "75.50", "9.99"], start=1):
        invoice(merchant, f"INV-{n}", amount, customer=f"Customer {n}")
        paid(account, n + 2, amount, reference=f"INV-{n}", external_id=f"L-{n}")


@pytest.mark.parametrize(
    "month",
    [month_with_proposals, _all_matched],
    ids=["with-exceptions", "all-matched"],
)
def test_two_beats_sending_the_nightly_run_at_once_leave_one_set_of_matches(
    merchant, account, monkeypatch, month
):
    # given a November with matches to find
    with freeze_time("2026-12-03 03:00:00"):
        month(merchant, account)
    sent: list[tuple] = []
    monkeypatch.setattr(reconcile_merchant, "delay", lambda *args: sent.append(args))
    with freeze_time("2026-12-03 03:00:00"):
        reconcile_nightly.apply()
        reconcile_nightly.apply()  # the second beat
    assert len(sent) == 2 and sent[0] == sent[1]
    # and both runs load and match before either writes
    both_matched = threading.Barrier(2)
    real_reconcile = runs.reconcile_explaining

    def reconcile_then_wait(*args, **kwargs):
        result = real_reconcile(*args, **kwargs)
        both_matched.wait(timeout=30)
        return result

    monkeypatch.setattr(runs, "reconcile_explaining", reconcile_then_wait)
    errors: list[BaseException] = []

    def worker(args: tuple) -> None:
        try:
            reconcile_merchant.apply(args=args).get()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    # when the two messages are worked at once, by two workers
    threads = [threading.Thread(target=worker, args=(args,)) for args in sent]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then the month holds one set of matches: no row is in two live matches
    assert not errors, errors
    doubled = {row: n for row, n in _live_items().items() if n > 1}
    assert doubled == {}, doubled
    # and as many as one run alone finds
    monkeypatch.setattr(runs, "reconcile_explaining", real_reconcile)
    alone = runs.reconciliation_run_start(
        merchant=merchant,
        date_from=dt.date(2026, 11, 1),
        date_to=dt.date(2026, 11, 30),
        dry_run=True,
    )
    assert Match.objects.filter(status__in=LIVE).count() == len(alone.result.matches)
