"""`import_rates FILE`: daily exchange rates (date, base, quote, rate); all or
none."""

import sys
from pathlib import Path

from core.commands import JsonCommand
from core.exceptions import InvalidInput
from reconciliation.services.rates import exchange_rates_import


class Command(JsonCommand):
    help = "Import daily exchange rates: date, base, quote, rate (1 base = rate quote)."

    _refused = False

    def add_arguments(self, parser):
        parser.add_argument("file")

    def run(self, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise InvalidInput(f"file: {path} does not exist", field="file")
        result = exchange_rates_import(file_bytes=path.read_bytes(), filename=path.name)
        self._refused = bool(result.errors)
        return result.as_dict()

    def handle(self, *args, **options):
        super().handle(*args, **options)
        if self._refused:
            sys.exit(1)

    def describe(self, result):
        if not result["errors"]:
            return f"inserted {result['inserted']}, updated {result['updated']}"
        lines = [f"refused: {len(result['errors'])} error(s); nothing was imported"]
        lines += [
            f"  row {e['row']}, {e['field']}: {e['message']}" for e in result["errors"]
        ]
        return "\n".join(lines)
