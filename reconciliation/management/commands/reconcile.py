"""`reconcile --merchant ID --from DATE --to DATE [--matches PATH.csv]`: one
reconciliation run, in this process; prints counts by tier and status."""

import csv
from pathlib import Path

from core.commands import JsonCommand
from core.periods import date_parse
from merchants.selectors import merchant_by_id
from reconciliation.selectors import match_pairs
from reconciliation.services.runs import reconciliation_run_start

MATCHES_COLUMNS = ["status", "rule", "expected_ref", "posted_ref", "group"]


class Command(JsonCommand):
    help = "Reconcile a merchant's period: match what was expected to what was posted."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, required=True)
        parser.add_argument("--from", dest="date_from", required=True)
        parser.add_argument("--to", dest="date_to", required=True)
        parser.add_argument(
            "--matches", help="write one CSV row per matched pair to this path"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="match, count, save nothing"
        )

    def run(self, **options):
        merchant = merchant_by_id(merchant_id=options["merchant"])
        date_from = date_parse(options["date_from"], field="from")
        date_to = date_parse(options["date_to"], field="to")
        outcome = reconciliation_run_start(
            merchant=merchant,
            date_from=date_from,
            date_to=date_to,
            trigger="command",
            dry_run=options["dry_run"],
        )
        run = outcome.run
        answer = {
            "run_id": run.pk,
            "from": str(date_from),
            "to": str(date_to),
            "expected": run.expected_count,
            "posted": run.posted_count,
            "seconds": str(run.seconds),
            **run.counts,
        }
        if options.get("matches"):
            path = Path(options["matches"])
            with path.open("w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(MATCHES_COLUMNS)
                rows = 0
                for pair in match_pairs(
                    merchant=merchant, date_from=date_from, date_to=date_to
                ):
                    writer.writerow([pair[c] for c in MATCHES_COLUMNS])
                    rows += 1
            answer["matches_path"] = str(path)
            answer["matches_rows"] = rows
        return answer

    def describe(self, result):
        parts = [
            f"run {result['run_id']} {result['from']}..{result['to']}: "
            f"{result.get('matched', 0)} matches "
            f"({result.get('auto', 0)} automatic, {result.get('proposed', 0)} "
            f"proposed), {result.get('exceptions', 0)} exceptions"
        ]
        tiers = [
            f"tier {n}: {result[f'tier_{n}']}"
            for n in range(1, 8)
            if f"tier_{n}" in result
        ]
        if tiers:
            parts.append("  " + ", ".join(tiers))
        if "matches_path" in result:
            parts.append(
                f"  {result['matches_rows']} pairs -> {result['matches_path']}"
            )
        return "\n".join(parts)
