"""`poll_payments --once`: one polling round in this process (no worker needed);
without --once, rounds keep coming on the beat's cadence until Ctrl-C."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandParser

from core.commands import JsonCommand
from core.exceptions import InvalidInput


class Command(JsonCommand):
    help = (
        "Ask Bakong about every due pending KHQR payment request: "
        '--once prints {"checked", "paid", "expired", "errors"}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one round, then exit")
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="seconds between rounds without --once (default 5)",
        )
        parser.add_argument(
            "--limit", type=int, default=500, help="requests per round (default 500)"
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="Bakong calls in flight at once (default BAKONG_POLL_CONCURRENCY, 5)",
        )

    def run(self, **options: Any) -> dict[str, Any]:
        from payments.services.polling import payments_poll_due

        if options["limit"] < 1:
            raise InvalidInput("--limit must be 1 or more", field="limit")
        if options["concurrency"] is not None and options["concurrency"] < 1:
            raise InvalidInput("--concurrency must be 1 or more", field="concurrency")
        if options["interval"] <= 0:
            raise InvalidInput("--interval must be more than 0", field="interval")
        kwargs = {"limit": options["limit"], "concurrency": options["concurrency"]}
        if options["once"]:
            return payments_poll_due(**kwargs).summary()
        totals = {"checked": 0, "paid": 0, "expired": 0, "errors": 0}
        try:
            while True:
                summary = payments_poll_due(**kwargs).summary()
                for key, value in summary.items():
                    totals[key] += value
                if not options["json"] and any(summary.values()):
                    self.stdout.write(" ".join(f"{k}={v}" for k, v in summary.items()))
                time.sleep(options["interval"])
        except KeyboardInterrupt:
            pass
        return totals
