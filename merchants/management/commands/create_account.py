from core.commands import JsonCommand
from merchants.selectors import merchant_by_id
from merchants.services import account_create


class Command(JsonCommand):
    help = "Add an account (Bakong wallet, bank deposit or card) to a merchant."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, required=True)
        parser.add_argument("--provider", required=True)
        parser.add_argument("--currency", required=True)
        parser.add_argument("--number", required=True)
        parser.add_argument("--bakong-account-id", default="")
        parser.add_argument(
            "--kind", default="", choices=["", "wallet", "deposit", "card"]
        )
        parser.add_argument("--name", default="")

    def run(self, **options):
        account = account_create(
            merchant=merchant_by_id(merchant_id=options["merchant"]),
            provider=options["provider"],
            currency=options["currency"],
            number=options["number"],
            bakong_account_id=options["bakong_account_id"],
            kind=options["kind"],
            name=options["name"],
        )
        return {"account_id": account.pk}
