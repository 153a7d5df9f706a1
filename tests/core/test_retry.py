"""core.retry.RetryPolicy: bounded tries and total wait, Retry-After honoured, and
a give-up message that names the cause."""

import random

import pytest

from core.exceptions import TransientError
from core.http import RateLimited
from core.retry import RetriesExhausted, RetryPolicy


def test_a_delay_is_backoff_with_jitter_but_never_under_retry_after():
    policy = RetryPolicy(max_tries=10, max_total_wait=None, base=2, cap=60)
    rng = random.Random(1)
    plain = TransientError("feed: server error 503")
    assert 1 <= policy.delay(tries=1, error=plain, rng=rng) <= 2
    assert 30 <= policy.delay(tries=6, error=plain, rng=rng) <= 60  # capped
    slow = RateLimited("feed: rate limited (429)", retry_after=90)
    assert policy.delay(tries=1, error=slow, rng=rng) == 90


def test_no_delay_once_the_tries_or_the_total_wait_run_out():
    policy = RetryPolicy(max_tries=3, max_total_wait=100)
    error = RateLimited("feed: rate limited (429)", retry_after=40)
    assert policy.delay(tries=2, error=error, waited=40) == 40
    assert policy.delay(tries=3, error=error) is None
    assert policy.delay(tries=2, error=error, waited=61) is None


@pytest.mark.parametrize(
    ("errors", "tries", "message"),
    [
        (
            [RateLimited("feed: rate limited (429)", retry_after=30)] * 5,
            5,
            "the bank answered 429 5 times; last Retry-After 30 s; waited 120 s in all",
        ),
        (
            [
                RateLimited("feed: rate limited (429)", retry_after=5),
                TransientError("feed: server error 503"),
                TransientError("feed: timed out (ReadTimeout)"),
                TransientError("feed: server error 503"),
                TransientError("feed: server error 503"),
            ],
            5,
            "the bank refused 5 tries (server error 503 ×3, 429 ×1, timed out "
            "(ReadTimeout) ×1); waited 120 s in all",
        ),
        (
            [TransientError("feed: timed out (ReadTimeout)")],
            5,
            "the bank refused 5 tries; the last answer was timed out (ReadTimeout)"
            "; waited 120 s in all",
        ),
    ],
)
def test_giving_up_names_the_cause(errors, tries, message):
    # when
    error = RetryPolicy(max_tries=5).exhausted(
        subject="the bank", tries=tries, errors=errors, waited=120
    )
    # then
    assert isinstance(error, RetriesExhausted)
    assert error.code == "retries_exhausted" and error.tries == tries
    assert error.message == message
