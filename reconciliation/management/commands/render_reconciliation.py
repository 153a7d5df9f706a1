from core.commands import JsonCommand
from core.money import amount_to_wire
from core.periods import date_parse
from merchants.selectors import merchant_by_id
from reconciliation.documents import render_reconciliation


class Command(JsonCommand):
    language_help = "the language of the document's headings and words"
    help = (
        "Write a merchant's reconciliation report for a period as PDF or XLSX; "
        '"difference" is, per currency, the sum of the bank reconciliation '
        "statements' unexplained differences (0 when every account ties)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, required=True)
        parser.add_argument("--from", dest="date_from", required=True)
        parser.add_argument("--to", dest="date_to", required=True)
        parser.add_argument("--format", dest="fmt", required=True)
        parser.add_argument("--out", required=True)

    def run(self, **options):
        merchant = merchant_by_id(merchant_id=options["merchant"])
        result = render_reconciliation(
            merchant=merchant,
            date_from=date_parse(options["date_from"], field="from"),
            date_to=date_parse(options["date_to"], field="to"),
            fmt=options["fmt"],
            out=options["out"],
        )
        return {
            "path": str(result.path),
            "matched": result.matched,
            "exceptions": result.exceptions,
            "difference": {
                currency: amount_to_wire(total, currency)
                for currency, total in result.difference.items()
            },
        }
