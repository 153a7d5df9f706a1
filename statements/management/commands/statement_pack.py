from core.commands import JsonCommand
from core.periods import date_parse
from merchants.selectors import merchant_by_id
from statements.services.packs import statement_pack_build


class Command(JsonCommand):
    language_help = "the language of the pack's documents and README"
    help = (
        "Write a merchant's statement pack for auditors: per account PDF, XLSX and "
        "CSV statements, a README and manifest.json with SHA-256 checksums."
    )

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, required=True)
        parser.add_argument("--from", dest="date_from", required=True)
        parser.add_argument("--to", dest="date_to", required=True)
        parser.add_argument("--out", required=True)

    def run(self, **options):
        merchant = merchant_by_id(merchant_id=options["merchant"])
        result = statement_pack_build(
            merchant=merchant,
            date_from=date_parse(options["date_from"], field="from"),
            date_to=date_parse(options["date_to"], field="to"),
            out=options["out"],
        )
        return {"path": str(result.path), "files": result.files}

    def describe(self, result):
        lines = [f"path: {result['path']}"]
        lines += [f"  {f['path']}  {f['sha256'][:16]}…" for f in result["files"]]
        return "\n".join(lines)
