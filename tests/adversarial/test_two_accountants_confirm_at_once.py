"""Two accountants press "confirm" on the same match at the same moment, each in
their own browser session, on PostgreSQL. The race is forced, not hoped for: the
first one's request is held after it has claimed the match and before it commits,
until the second one's request is seen waiting on the row's lock. One
confirmation, one clear refusal naming who won, one audit event."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from freezegun import freeze_time

from merchants.models import AuditEvent
from reconciliation.models import Match, MatchStatus
from reconciliation.services import review
from tests.factories import MembershipFactory, UserFactory
from tests.reconciliation.review_makers import match_of, month_with_proposals, run

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a real row lock between two sessions needs PostgreSQL",
    ),
]


def _signed_in(merchant, username: str) -> Client:
    user = UserFactory(username=username)
    MembershipFactory(user=user, merchant=merchant, role="accountant")
    client = Client()
    client.force_login(user)
    return client


def _someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_two_accountants_confirming_one_match_at_once_one_wins_one_is_told(
    merchant, account, monkeypatch
):
    # given a proposed match and two accountants signed in
    with freeze_time("2026-12-05 10:00:00"):
        invoices, lines = month_with_proposals(merchant, account)
        run(merchant)
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    assert proposal.status == MatchStatus.PROPOSED
    first, second = _signed_in(merchant, "dara"), _signed_in(merchant, "sokha")
    # and the first one's confirm held after its claim, before its commit
    claimed, release = threading.Event(), threading.Event()
    real_learn = review._alias_learn

    def held_learn(**kwargs):
        if threading.current_thread().name == "dara":
            claimed.set()
            assert release.wait(timeout=30), "never released"
        return real_learn(**kwargs)

    monkeypatch.setattr(review, "_alias_learn", held_learn)
    url = f"/reconciliation/matches/{proposal.pk}/confirm/"
    answers: dict[str, object] = {}

    def press(client: Client, name: str) -> None:
        try:
            answers[name] = client.post(url, {"note": ""})
        finally:
            connection.close()

    # when the first presses confirm and, while it is inside its transaction,
    # the second does too
    dara = threading.Thread(target=press, args=(first, "dara"), name="dara")
    dara.start()
    assert claimed.wait(timeout=30), "the first confirm never reached its claim"
    sokha = threading.Thread(target=press, args=(second, "sokha"), name="sokha")
    sokha.start()
    deadline = time.monotonic() + 20
    while not _someone_waits_on_a_lock():
        assert time.monotonic() < deadline, "the second confirm never met the lock"
        assert sokha.is_alive(), "the second confirm finished without waiting"
        time.sleep(0.05)
    release.set()
    for thread in (dara, sokha):
        thread.join(timeout=30)

    # then the first is confirmed, the second refused in words that name the winner
    assert answers["dara"].status_code == 302
    assert any("confirmed" in m for m in _messages(answers["dara"]))
    refusal = " ".join(_messages(answers["sokha"]))
    assert f"match {proposal.pk} was already confirmed by dara" in refusal, refusal
    match = Match.objects.get(pk=proposal.pk)
    assert (match.status, match.decided_by.username) == (MatchStatus.CONFIRMED, "dara")
    events = AuditEvent.objects.filter(action="reconciliation.match.confirmed")
    assert [e.actor.username for e in events] == ["dara"]
