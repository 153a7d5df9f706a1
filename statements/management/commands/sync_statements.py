"""Pull an account's statement feed for a period into the ledger (the same service
the nightly Celery job runs); a re-run changes nothing.

A 429, 5xx or timeout is waited out here, as the task would retry it (Retry-After
honoured, at most 5 tries per window and 5 minutes of waiting in all); then the
command fails naming the cause. Windows already written stay written; the window
being read writes nothing."""

import time

from django.db.models import F

from core.commands import JsonCommand
from core.exceptions import InvalidInput
from core.periods import date_parse
from merchants.models import Connection, ConnectionProvider
from merchants.selectors import account_by_id
from statements.services.feed_sync import statement_feed_sync


class Command(JsonCommand):
    help = (
        "Sync an account's statement feed. Without --from/--to: a 12-month backfill "
        "on the first sync, then from the last sync with a 3-day overlap."
    )

    # the wait between tries; a test puts a fake here and never really sleeps
    sleep = staticmethod(time.sleep)

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, required=True)
        parser.add_argument("--from", dest="date_from")
        parser.add_argument("--to", dest="date_to")
        parser.add_argument(
            "--channel",
            action="append",
            help="only this channel (KHQR, TRANSFER, BILL, TOPUP, CROSSBORDER); "
            "repeat for several",
        )

    def run(self, **options):
        account = account_by_id(account_id=options["account"])
        # the live connection; else the revoked one, so the error says it was revoked
        connection = (
            Connection.objects.filter(
                account=account, provider=ConnectionProvider.STATEMENT_FEED
            )
            .order_by(F("revoked_at").desc(nulls_first=True), "-pk")
            .first()
        )
        if connection is None:
            raise InvalidInput(
                f"account: #{account.pk} has no statement feed connection "
                "(connect_account --provider statement_feed)",
                field="account",
            )
        result = statement_feed_sync(
            connection_id=connection.pk,
            date_from=date_parse(
                options.get("date_from"), field="from", required=False
            ),
            date_to=date_parse(options.get("date_to"), field="to", required=False),
            channels=options.get("channel") or None,
            sleep=self.sleep,
        )
        return result.as_dict()

    def describe(self, result):
        lines = [
            f"fetched {result['fetched']}, inserted {result['inserted']}, "
            f"skipped {result['skipped']} ({result['windows']} window(s), "
            f"{result['pages']} page(s)); status {result['status']}"
        ]
        lines += [f"warning: {w}" for w in result["warnings"]]
        return "\n".join(lines)
