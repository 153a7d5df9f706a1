import json

from core.commands import JsonCommand
from core.exceptions import InvalidInput
from merchants.models import Environment
from merchants.selectors import account_by_id
from merchants.services import connection_create


class Command(JsonCommand):
    help = "Connect an account to a bank statement feed or to the Bakong Open API."

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, required=True)
        parser.add_argument(
            "--provider",
            required=True,
            choices=["statement_feed", "bakong", "khqr_gateway"],
        )
        parser.add_argument("--base-url", required=True)
        parser.add_argument("--credentials", default="{}", help="a JSON object")
        parser.add_argument(
            "--environment", default=Environment.SANDBOX, choices=Environment.values
        )

    def run(self, **options):
        account = account_by_id(account_id=options["account"])
        try:
            credentials = json.loads(options["credentials"])
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"credentials: not valid JSON ({exc.msg})", field="credentials"
            )
        connection = connection_create(
            account=account,
            provider=options["provider"],
            base_url=options["base_url"],
            credentials=credentials,
            environment=options["environment"],
        )
        return {"connection_id": connection.pk}
