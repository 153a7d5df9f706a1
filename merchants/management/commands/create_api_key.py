from core.commands import JsonCommand
from merchants.selectors import merchant_by_id
from merchants.services import api_key_create


class Command(JsonCommand):
    help = "Issue an API key for a merchant's shop; it is printed once."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, required=True)
        parser.add_argument("--test", action="store_true", help="a tonle_test_ key")
        parser.add_argument("--name", default="")

    def run(self, **options):
        _, plaintext = api_key_create(
            merchant=merchant_by_id(merchant_id=options["merchant"]),
            is_test=options["test"],
            name=options["name"],
        )
        return {"api_key": plaintext}
