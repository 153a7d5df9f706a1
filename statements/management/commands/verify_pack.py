import sys

from core.commands import JsonCommand
from statements.services.packs import statement_pack_verify


class Command(JsonCommand):
    help = "Check every file of a statement pack against its manifest.json."

    def add_arguments(self, parser):
        parser.add_argument("path")

    def run(self, **options):
        result = statement_pack_verify(path=options["path"])
        self.failed = not result.ok
        return {"ok": result.ok, "checked": result.checked, "problems": result.problems}

    def describe(self, result):
        if result["ok"]:
            return f"ok: {result['checked']} files match the manifest"
        return "\n".join(["FAILED:"] + [f"  {p}" for p in result["problems"]])

    def handle(self, *args, **options):
        self.failed = False
        super().handle(*args, **options)
        if self.failed:
            sys.exit(1)
