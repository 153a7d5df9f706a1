"""`sandbox_pay MD5 [--amount X --currency C] [--failed] [--again]`: the Bakong
sandbox's simulated payer pays a KHQR code (its own amount and currency unless
others are given; --again pays a code a second time)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser

from core.commands import JsonCommand
from core.exceptions import ConfigurationError
from sandbox.bakong import pay


class Command(JsonCommand):
    help = (
        "Pay a KHQR code in the built-in Bakong sandbox, as a customer's bank app "
        "would. Give --amount / --currency to pay something else (a mismatch)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("md5", help="the code's md5 (32 hexadecimal characters)")
        parser.add_argument("--amount", help="pay this amount instead (e.g. 12.50)")
        parser.add_argument("--currency", help="pay in this currency instead (KHR|USD)")
        parser.add_argument(
            "--failed",
            action="store_true",
            help="record a failed transaction (Bakong answers errorCode 3)",
        )
        parser.add_argument(
            "--again",
            action="store_true",
            help="pay a code that is already paid once more (a customer paying twice)",
        )

    def run(self, **options: Any) -> dict[str, Any]:
        if not settings.SANDBOX_ENABLED:
            raise ConfigurationError(
                "the sandbox is off (SANDBOX_ENABLED=False): there is no simulated "
                "payer in production"
            )
        tx = pay(
            md5=options["md5"],
            amount=options["amount"],
            currency=options["currency"],
            failed=options["failed"],
            again=options["again"],
        )
        return {
            "md5": tx.md5,
            "hash": tx.hash,
            "amount": str(tx.amount),
            "currency": tx.currency,
            "status": tx.status,
            "to_account_id": tx.to_account_id,
        }
