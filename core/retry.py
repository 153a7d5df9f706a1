"""Retrying what a remote side refused for now (429, 5xx, timeouts): exponential
backoff with full jitter, bounded, never sooner than the server's Retry-After.

One policy serves both ways of waiting: a Celery task turns `RetryPolicy.delay` into
a countdown, a command a person runs sleeps it. Either way the tries and the total
wait are bounded, and giving up raises RetriesExhausted whose message names the
cause ("the bank answered 429 5 times; last Retry-After 30 s").
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from core.exceptions import TonleError, TransientError
from core.http import RateLimited


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


class RetriesExhausted(TonleError):
    """Every try allowed was refused for now; the message says by what."""

    code = "retries_exhausted"
    http_status = 503

    def __init__(
        self, message: str, *, tries: int, last: TransientError | None = None
    ) -> None:
        super().__init__(message)
        self.tries = tries
        self.last = last


def _cause(error: TransientError) -> str:
    """What the remote side did, without the client's "system: " prefix."""
    if isinstance(error, RateLimited):
        return "429"
    _, sep, rest = error.message.partition(": ")
    return rest if sep else error.message


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _seconds(value: float) -> str:
    return f"{value:g} s"


@dataclass(frozen=True)
class RetryPolicy:
    """`max_tries` counts the first try; `max_total_wait` (seconds, None for no
    bound) caps the sum of the waits between them."""

    max_tries: int = 5
    max_total_wait: float | None = 300.0
    base: float = 2.0
    cap: float = 600.0

    def delay(
        self,
        *,
        tries: int,
        error: TransientError,
        waited: float = 0.0,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait after `tries` failed tries (the last with `error`), or
        None: give up (no tries left, or the wait would pass the total bound)."""
        if tries >= self.max_tries:
            return None
        seconds = backoff_seconds(
            attempt=tries - 1,
            base=self.base,
            cap=self.cap,
            retry_after=error.retry_after,
            rng=rng,
        )
        if self.max_total_wait is not None and waited + seconds > self.max_total_wait:
            return None
        return seconds

    def exhausted(
        self,
        *,
        subject: str,
        tries: int,
        errors: Sequence[TransientError],
        waited: float = 0.0,
    ) -> RetriesExhausted:
        """The error to raise on giving up. `errors` are the failures seen, all of
        them or only the last (a task knows only its own)."""
        last = errors[-1]
        causes = Counter(_cause(e) for e in errors)
        if len(errors) == tries and len(causes) == 1:
            text = f"{subject} answered {_cause(last)} {_times(tries)}"
        elif len(errors) == tries:
            listed = ", ".join(f"{cause} ×{n}" for cause, n in causes.most_common())
            text = f"{subject} refused {tries} tries ({listed})"
        else:
            text = f"{subject} refused {tries} tries; the last answer was "
            text += _cause(last)
        if last.retry_after is not None:
            text += f"; last Retry-After {_seconds(last.retry_after)}"
        if tries < self.max_tries and self.max_total_wait is not None:
            text += (
                f"; waiting again would pass the {_seconds(self.max_total_wait)} "
                "this waits in all"
            )
        elif waited:
            text += f"; waited {_seconds(round(waited, 1))} in all"
        return RetriesExhausted(text, tries=tries, last=last)
