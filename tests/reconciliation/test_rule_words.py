"""The engine's rule codes, run triggers and log actions are words on the pages, in
English and in Khmer; the code stays only as a title, or as a small tag in the
queue whose Rule filter takes it."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from merchants.services import audit_event_record
from payments.check_words import OUTCOME_WORDS
from payments.clients.bakong_types import CheckStatus
from payments.models import PaymentFlag
from reconciliation.engine import tiers_exact
from reconciliation.models import Match, ReconciliationRun
from reconciliation.rule_words import RULE_WORDS
from reconciliation.templatetags.reason_words import count_words, pair_words
from tests.core.khmer import in_khmer, khmer
from tests.reconciliation.review_makers import month_with_proposals, run

ROOT = Path(__file__).resolve().parents[2]


def engine_rules() -> set[str]:
    """Every rule code the engine and the hand match write, read from the source."""
    text = "\n".join(
        p.read_text()
        for p in [*(ROOT / "reconciliation/engine").glob("*.py"),
                  ROOT / "reconciliation/services/review.py"]
    )  # fmt: skip
    codes = set(re.findall(r'rule="([a-z_.]+)"', text))
    codes |= set(re.findall(r'"(fx\.[a-z_]+)"', text))
    codes |= {f"identity.{kind}" for kind in tiers_exact._TOKEN_WORDS}
    codes |= {f"amount_date.{rel}" for rel in tiers_exact._RELATION_SCORE}
    return codes


def _text(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_every_rule_the_engine_writes_has_words():
    codes = engine_rules()
    assert {"identity.md5", "reference.fee", "amount_date.name", "fx.day_rate",
            "group.customer", "manual"} <= codes  # fmt: skip
    assert not codes - set(RULE_WORDS)


@pytest.mark.django_db
def test_the_queue_and_a_match_show_the_rule_in_words(owner_client, merchant, account):
    # given a month with proposals
    month_with_proposals(merchant, account)
    run(merchant)
    match = Match.objects.filter(merchant=merchant).first()
    words = str(RULE_WORDS[match.rule])
    # when
    queue = _text(owner_client, reverse("reconciliation:queue"))
    match_url = reverse("reconciliation:match-detail", args=[match.pk])
    detail = _text(owner_client, match_url)
    # then the words, and the code only as the filter's tag or a title
    assert words in queue and f'<option value="{match.rule}">' in queue
    assert words in detail
    assert f">{match.rule}<" not in detail
    # and in Khmer
    in_khmer(owner_client)
    queue_km = _text(owner_client, reverse("reconciliation:queue"))
    detail_km = _text(owner_client, match_url)
    assert khmer(words) in queue_km and khmer(words) in detail_km


@pytest.mark.django_db
def test_the_runs_page_and_the_log_speak_words_in_khmer(
    owner_client, merchant, account
):
    # given a run started by the nightly task, and a logged tolerance change
    month_with_proposals(merchant, account)
    run(merchant)
    ReconciliationRun.objects.filter(merchant=merchant).update(
        trigger="task", started_by=None
    )
    audit_event_record(
        merchant=merchant, action="reconciliation.tolerances.updated",
        details={"before": {"fee_percent": "1"}, "after": {"fee_percent": "2"}},
    )  # fmt: skip
    in_khmer(owner_client)
    # when
    runs = owner_client.get(reverse("reconciliation:runs")).content.decode()
    log = owner_client.get(reverse("reconciliation:log")).content.decode()
    # then
    assert khmer("the nightly run") in runs and ">task<" not in runs
    assert khmer("Changed the reconciliation tolerances") in log
    assert khmer("Before") in log
    assert "<code>reconciliation.tolerances.updated</code>" not in log
    assert ">before:" not in log


def test_a_dry_runs_pairs_and_counts_are_in_words_in_khmer():
    with translation.override("km"):
        pair = pair_words("tier 3 reference.fee (proposed)")
        unmatched = pair_words("")
        count = count_words("tier_3")
    assert khmer(str(RULE_WORDS["reference.fee"])) in pair
    assert "reference.fee" not in pair and "proposed" not in pair
    assert unmatched == khmer("not matched")
    assert "tier_3" not in count


def test_every_bakong_check_outcome_has_words():
    outcomes = {status.value for status in CheckStatus} | {"paid", "error"}
    outcomes |= {f"found_{flag}" for flag, _words in PaymentFlag.choices if flag}
    assert not outcomes - set(OUTCOME_WORDS)
