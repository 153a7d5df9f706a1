from core.commands import JsonCommand
from merchants.selectors import merchant_by_id
from merchants.services import member_create


class Command(JsonCommand):
    help = "Create a user who is a member of a merchant with a role."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, required=True)
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument(
            "--role",
            required=True,
            choices=["owner", "accountant", "auditor", "viewer"],
        )
        parser.add_argument("--email", default="")

    def run(self, **options):
        user = member_create(
            merchant=merchant_by_id(merchant_id=options["merchant"]),
            username=options["username"],
            password=options["password"],
            role=options["role"],
            email=options["email"],
        )
        return {"user_id": user.pk}
