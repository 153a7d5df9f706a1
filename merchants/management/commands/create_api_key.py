import datetime as dt

from django.utils import timezone

from core.commands import JsonCommand
from core.exceptions import InvalidInput
from merchants.models import ApiScope
from merchants.selectors import merchant_by_id
from merchants.services import api_key_create


class Command(JsonCommand):
    help = (
        "Issue an API key for a merchant's shop; it is printed once. Every scope "
        "unless --scope narrows it; no expiry unless --expires-days."
    )

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, required=True)
        parser.add_argument("--test", action="store_true", help="a tonle_test_ key")
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--scope",
            action="append",
            metavar="SCOPE",
            help=f"what the key may do, one of {', '.join(ApiScope.values)}; "
            "repeat for several (default: all)",
        )
        parser.add_argument(
            "--expires-days", type=int, help="refuse the key after this many days"
        )

    def run(self, **options):
        days = options.get("expires_days")
        if days is not None and days < 1:
            raise InvalidInput("expires_days: must be 1 or more", field="expires_days")
        _, plaintext = api_key_create(
            merchant=merchant_by_id(merchant_id=options["merchant"]),
            is_test=options["test"],
            name=options["name"],
            scopes=options.get("scope"),
            expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
        )
        return {"api_key": plaintext}
