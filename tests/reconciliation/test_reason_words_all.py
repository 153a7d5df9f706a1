"""Every sentence the engine writes on a realistic month has Khmer words: its
match reasons, its exception details and what kept each nearest candidate out."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from reconciliation.engine import reconcile
from reconciliation.reason_words import reason_words
from tests.reconciliation.scenario import engine_rows, month


@pytest.fixture(scope="module", params=[7, 19])
def sentences(request) -> set[str]:
    scenario = month(invoices=300, sales=500, seed=request.param)
    expected, posted = engine_rows(scenario)
    result = reconcile(expected, posted, scenario.settings())
    found = {m.reason for m in result.matches}
    found |= {f.detail for f in result.findings}
    found |= {why for u in result.unmatched for _, why in u.nearest if why}
    return found


def _untranslated(sentence: str) -> list[str]:
    """The parts of the sentence still in the engine's English."""
    with translation.override("km"):
        worded = reason_words(sentence)
    found = re.findall(r"\b[a-z]{3,}(?: [a-z]{2,})+\b", worded)
    return found + re.findall(r"\b(?:order|refund|code) \S|\b(?:ln|bk|ps):\d", worded)


def test_every_sentence_of_a_month_is_worded_in_khmer(sentences):
    left = {s: _untranslated(s) for s in sentences}
    left = {s: words for s, words in left.items() if words}
    assert not left, sorted(left)[:20]


def test_the_values_of_each_sentence_stay_as_the_engine_wrote_them(sentences):
    with translation.override("km"):
        for sentence in sentences:
            worded = reason_words(sentence)
            for value in re.findall(
                r"[A-Z]+-[\w-]+|\d[\d,]*\.\d\d|\d+\.?\d*%", sentence
            ):
                assert value in worded, (value, worded)


# sentences the generated months seldom write, in the engine's own shape
RARE = [
    "One payment of 1,022.14 USD names INV-1, INV-2, and their sum is within the "
    "fee tolerance.",
    "The same KHQR md5 on both sides, but paid in KHR (41,000 KHR) for an item in USD.",
    "INV-7: 10.00 USD of 25.00 USD received",
    "refund RF-3 gives back order ORD-9, whose payment was not found",
    "T00000732: the bank's original amount × rate does not give the amount and "
    "fee, beyond rounding",
    "suggestion: same amount and currency inside the window, from a payer not "
    "known to be the customer; another candidate fits as well, so a person decides",
    "amount over by 27.47 USD; 2026-12-02 is outside the window 2026-11-04 to "
    "2026-11-25; reference not found in the line",
]


@pytest.mark.parametrize("sentence", RARE)
def test_a_rare_sentence_is_worded_in_khmer(sentence):
    assert not _untranslated(sentence), sentence


def test_another_match_is_worded_too():
    assert not _untranslated("already matched with another match")
