"""`import_invoices --merchant ID FILE`: the merchant's invoices from its
accounting tool (the invoice CSV, or XLSX with the same columns); all or none."""

import sys
from pathlib import Path

from core.commands import JsonCommand
from core.exceptions import InvalidInput
from merchants.selectors import merchant_by_id
from reconciliation.services.invoices import invoices_import


class Command(JsonCommand):
    help = (
        "Import invoices: invoice_number, customer, amount, currency, issue_date, "
        "due_date and optionally customer_account, reference."
    )

    _refused = False

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, required=True)
        parser.add_argument("file")

    def run(self, **options):
        merchant = merchant_by_id(merchant_id=options["merchant"])
        path = Path(options["file"])
        if not path.is_file():
            raise InvalidInput(f"file: {path} does not exist", field="file")
        result = invoices_import(
            merchant=merchant, file_bytes=path.read_bytes(), filename=path.name
        )
        self._refused = bool(result.errors)
        return result.as_dict()

    def handle(self, *args, **options):
        # a refused file prints its errors like a result, and exits non-zero
        super().handle(*args, **options)
        if self._refused:
            sys.exit(1)

    def describe(self, result):
        if not result["errors"]:
            return f"inserted {result['inserted']}, skipped {result['skipped']}"
        lines = [f"refused: {len(result['errors'])} error(s); nothing was imported"]
        lines += [
            f"  row {e['row']}, {e['field']}: {e['message']}" for e in result["errors"]
        ]
        return "\n".join(lines)
