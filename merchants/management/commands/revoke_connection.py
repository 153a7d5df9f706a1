"""Withdraw a connection's consent (audited): it stops syncing and refuses pushes.
Revoking an already revoked connection changes nothing and prints the same time."""

from core.commands import JsonCommand
from merchants.selectors import connection_by_id
from merchants.services import connection_revoke


class Command(JsonCommand):
    help = (
        "Revoke a bank feed, Bakong or gateway connection's consent: no more syncs, "
        "pushes refused with 403. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--connection", type=int, required=True)

    def run(self, **options):
        connection = connection_by_id(connection_id=options["connection"])
        connection = connection_revoke(
            merchant=connection.merchant,
            connection_id=connection.pk,
            actor_label="manage.py revoke_connection",
        )
        return {
            "connection_id": connection.pk,
            "revoked_at": connection.revoked_at.isoformat(),
        }

    def describe(self, result):
        return (
            f"connection #{result['connection_id']} is revoked "
            f"(since {result['revoked_at']})"
        )
