"""Give every recorded Bakong transaction without a ledger line its line (posted on
a Bakong wallet, the bank's line linked on a bank account); a re-run changes
nothing. For deployments whose codes were paid before settlement wrote the
ledger."""

from core.commands import JsonCommand
from merchants.selectors import merchant_by_id
from statements.services.bakong_lines import bakong_lines_resync


class Command(JsonCommand):
    help = (
        "Post or link the ledger line of every recorded Bakong transaction that has "
        "none yet (all merchants, or --merchant ID)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, help="only this merchant")

    def run(self, **options):
        merchant_id = options.get("merchant")
        if merchant_id is not None:
            merchant_id = merchant_by_id(merchant_id=merchant_id).pk
        return bakong_lines_resync(merchant_id=merchant_id)

    def describe(self, result):
        return (
            f"posted {result['posted']}, linked {result['linked']}, "
            f"skipped {result['skipped']} (a bank line not there yet, or no account "
            "in the paid currency)"
        )
