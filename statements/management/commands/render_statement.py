from core.commands import JsonCommand
from core.money import amount_to_wire
from core.periods import date_parse
from merchants.selectors import account_by_id
from statements.documents import render_statement


class Command(JsonCommand):
    language_help = "the language of the document's headings and words"
    help = "Write one account's statement for a period as PDF, XLSX or CSV."

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, required=True)
        parser.add_argument("--from", dest="date_from", required=True)
        parser.add_argument("--to", dest="date_to", required=True)
        parser.add_argument("--format", dest="fmt", required=True)
        parser.add_argument("--out", required=True)

    def run(self, **options):
        account = account_by_id(account_id=options["account"])
        result = render_statement(
            account=account,
            date_from=date_parse(options["date_from"], field="from"),
            date_to=date_parse(options["date_to"], field="to"),
            fmt=options["fmt"],
            out=options["out"],
        )
        return {
            "path": str(result.path),
            "lines": result.lines,
            "opening": amount_to_wire(result.opening, account.currency),
            "closing": amount_to_wire(result.closing, account.currency),
        }
