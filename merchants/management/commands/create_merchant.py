from core.commands import JsonCommand
from merchants.services import merchant_create


class Command(JsonCommand):
    help = "Create a merchant (the tenant)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--bakong-account-id", required=True)
        parser.add_argument("--currency", default="KHR", choices=["KHR", "USD"])
        parser.add_argument("--display-name", default="")
        parser.add_argument("--name-km", default="")
        parser.add_argument("--city", default="Phnom Penh")

    def run(self, **options):
        merchant = merchant_create(
            legal_name=options["name"],
            display_name=options["display_name"],
            name_km=options["name_km"],
            bakong_account_id=options["bakong_account_id"],
            default_currency=options["currency"],
            city=options["city"],
        )
        return {"merchant_id": merchant.pk}
