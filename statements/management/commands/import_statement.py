"""Import a statement file (canonical CSV, or a bank's CSV/XLSX export with a
preset) into one account's ledger: all lines or none."""

import json
import sys
from pathlib import Path

from core.commands import JsonCommand
from core.exceptions import InvalidInput
from merchants.selectors import account_by_id
from statements.imports import PRESETS
from statements.services.imports import statement_file_import


class Command(JsonCommand):
    help = (
        "Import a statement file into an account. Presets: "
        + ", ".join(PRESETS)
        + " (default: recognised from the header)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, required=True)
        parser.add_argument("file")
        parser.add_argument("--preset", choices=sorted(PRESETS))
        parser.add_argument(
            "--mapping",
            help=(
                'JSON object field -> column header, plus options, e.g. {"posted_at": '
                '"Date", "credit": "Money In", "debit": "Money Out", "date_format": '
                '"dmy"} (see statements/imports/mapping.py); without one, a mapping '
                "saved for this account and these headers is used"
            ),
        )

    def run(self, **options):
        account = account_by_id(account_id=options["account"])
        path = Path(options["file"])
        if not path.is_file():
            raise InvalidInput(f"file: {path} does not exist", field="file")
        mapping = None
        if options.get("mapping"):
            try:
                mapping = json.loads(options["mapping"])
            except ValueError:
                raise InvalidInput("mapping: not valid JSON", field="mapping") from None
            if not isinstance(mapping, dict):
                raise InvalidInput("mapping: must be a JSON object", field="mapping")
        result = statement_file_import(
            account=account,
            file_bytes=path.read_bytes(),
            filename=path.name,
            preset=options.get("preset"),
            mapping=mapping,
        )
        self._refused = bool(result.errors)
        return result.as_dict()

    def handle(self, *args, **options):
        # a refused file prints its errors like a result, and exits non-zero
        super().handle(*args, **options)
        if self._refused:
            sys.exit(1)

    _refused = False

    def describe(self, result):
        if not result["errors"]:
            lines = [
                f"inserted {result['inserted']}, skipped {result['skipped']}, "
                f"flagged {result['flagged']}"
            ]
            lines += [
                f"  row {f['row']} ({f['txn_id']}), {f['flag']}: {f['message']}"
                for f in result["flags"]
            ]
            lines += [
                f"  warning: row {w['row']}, {w['message']}" for w in result["warnings"]
            ]
            if result["conflicted"]:
                lines.append(
                    f"not imported, {result['conflicted']} line(s) in conflict with "
                    "the ledger:"
                )
                lines += [
                    f"  row {c['row']}: {c['message']}" for c in result["conflicts"]
                ]
            return "\n".join(lines)
        lines = [f"refused: {len(result['errors'])} error(s); nothing was imported"]
        lines += [f"  row {e['row']}: {e['message']}" for e in result["errors"]]
        return "\n".join(lines)
