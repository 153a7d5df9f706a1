"""Demo merchant, people, accounts, connections and activity; running it twice
changes nothing and prints the same answer. The demo's codes are paid through the
sandbox and settled by the production poller (sandbox.demo.payments)."""

from django.conf import settings
from django.db import transaction

from core.commands import JsonCommand
from core.exceptions import ConfigurationError
from merchants.models import Account, Connection, Merchant
from merchants.selectors import connection_consent
from merchants.services import (
    account_create,
    api_key_demo_plaintext,
    connection_consent_renew,
    connection_create,
    member_create,
    merchant_create,
)
from sandbox.demo import payments as demo_payments
from sandbox.demo import reconciliation as demo_reconciliation
from sandbox.demo import statements as demo_statements

DEMO_BAKONG_ID = "tonle_demo@wing"
DEMO_PASSWORD = "tonle-demo"
SANDBOX_PATHS = {"bakong": "/sandbox/bakong", "statement_feed": "/sandbox/feed"}
DEMO_USERS = [("demo", "owner"), ("accountant", "accountant"), ("auditor", "auditor")]
DEMO_ACCOUNTS = [
    # provider, currency, number, kind, name, bakong id
    (
        "bakong",
        "KHR",
        "tonle_demo@wing",
        "wallet",
        "Bakong wallet (KHR)",
        "tonle_demo@wing",
    ),
    (
        "bakong",
        "USD",
        "tonle_demo_usd@wing",
        "wallet",
        "Bakong wallet (USD)",
        "tonle_demo_usd@wing",
    ),
    ("hattha", "USD", "001-234-567-890", "deposit", "Hattha current (USD)", ""),
    ("acleda", "KHR", "0001-01-123456-7-8", "deposit", "ACLEDA savings (KHR)", ""),
    ("krungsri", "THB", "123-4-56789-0", "deposit", "Krungsri (THB)", ""),
]
# the bank accounts' lines first, then the codes (whose settlements are the
# wallets' lines), then the invoices and a reconciliation run over all of it
DEMO_MODULES = [demo_statements, demo_payments, demo_reconciliation]


class Command(JsonCommand):
    help = "Create (or find) the demo merchant with users, accounts and activity."

    def run(self, **options):
        if not settings.SANDBOX_ENABLED:
            raise ConfigurationError(
                "the demo pays its codes through the sandbox: turn it on "
                "(SANDBOX_ENABLED=True, the default with DEBUG)"
            )
        with transaction.atomic():
            merchant = Merchant.objects.filter(bakong_account_id=DEMO_BAKONG_ID).first()
            if merchant is None:
                merchant = merchant_create(
                    legal_name="Tonle Demo Trading Co., Ltd.",
                    display_name="Tonle Demo Shop",
                    name_km="ហាងទន្លេសាកល្បង",
                    bakong_account_id=DEMO_BAKONG_ID,
                    default_currency="KHR",
                    city="Phnom Penh",
                    mcc="5411",
                )
            for username, role in DEMO_USERS:
                member_create(
                    merchant=merchant,
                    username=username,
                    password=DEMO_PASSWORD,
                    role=role,
                    # "forgot password" mails it here (the console, in the demo)
                    email=f"{username}@demo.tonle.local",
                )
            accounts = []
            for provider, currency, number, kind, name, bakong_id in DEMO_ACCOUNTS:
                account = Account.objects.filter(
                    merchant=merchant, provider=provider, number=number
                ).first() or account_create(
                    merchant=merchant,
                    provider=provider,
                    currency=currency,
                    number=number,
                    kind=kind,
                    name=name,
                    bakong_account_id=bakong_id,
                )
                accounts.append(account)
            self._connect_sandbox(accounts)
            api_key, plaintext = api_key_demo_plaintext(merchant=merchant)
            for module in DEMO_MODULES:
                module.seed_demo_data(merchant=merchant, accounts=accounts)
        return {
            "merchant_id": merchant.pk,
            "username": DEMO_USERS[0][0],
            "password": DEMO_PASSWORD,
            "api_key": plaintext,
            "accounts": [
                {"id": a.pk, "provider": a.provider, "currency": a.currency}
                for a in accounts
            ],
        }

    def _connect_sandbox(self, accounts: list[Account]) -> None:
        site = settings.SITE_URL.rstrip("/")
        for account in accounts:
            existing = Connection.objects.filter(
                account=account, revoked_at__isnull=True
            ).first()
            if existing is not None:
                if connection_consent(connection=existing).state != "active":
                    # the demo keeps syncing a year on: the sandbox consent renews
                    connection_consent_renew(
                        merchant=account.merchant,
                        connection_id=existing.pk,
                        actor_label="seed_demo",
                    )
                # the demo follows the server when `make run PORT=…` moves it
                path = SANDBOX_PATHS.get(existing.provider)
                url = existing.base_url
                if path and url.endswith(path) and url != site + path:
                    existing.base_url = site + path
                    existing.save(update_fields=["base_url"])
                continue
            if account.provider == "bakong":
                connection_create(
                    account=account,
                    provider="bakong",
                    base_url=site + SANDBOX_PATHS["bakong"],
                    credentials={
                        "email": "demo@tonle.local",
                        "webhook_secret": "demo-bakong-secret",
                    },
                    consent_scope="payments:read",
                )
            elif account.provider == "hattha":
                connection_create(
                    account=account,
                    provider="statement_feed",
                    base_url=site + SANDBOX_PATHS["statement_feed"],
                    credentials={
                        "client_id": "demo",
                        "client_secret": "demo-feed-secret",
                        "webhook_secret": "demo-feed-webhook-secret",
                    },
                )

    def describe(self, result):
        lines = [
            f"Demo merchant #{result['merchant_id']} is ready.",
            f"  Sign in at {settings.SITE_URL}/ as "
            f"{result['username']} / {result['password']}",
            "  (also: accountant / auditor, same password)",
            f"  API key: {result['api_key']}",
        ]
        return "\n".join(lines)
