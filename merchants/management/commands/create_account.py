from core.commands import JsonCommand
from merchants.models import Merchant
from merchants.services import account_create


def merchant_by_id(merchant_id: int) -> Merchant:
    from core.exceptions import NotFound

    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        raise NotFound(f"merchant {merchant_id} does not exist")
    return merchant


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
            merchant=merchant_by_id(options["merchant"]),
            provider=options["provider"],
            currency=options["currency"],
            number=options["number"],
            bakong_account_id=options["bakong_account_id"],
            kind=options["kind"],
            name=options["name"],
        )
        return {"account_id": account.pk}
