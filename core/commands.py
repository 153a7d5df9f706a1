"""Base for Tonle's management commands: `--json` prints one object on stdout and a
failure exits non-zero with {"error": CODE, "message": TEXT} (the DESIGN contract)."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.exceptions import TonleError


class JsonCommand(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        return parser

    def add_arguments(self, parser: CommandParser) -> None:  # pragma: no cover
        pass

    def run(self, **options: Any) -> dict[str, Any]:
        raise NotImplementedError

    def describe(self, result: dict[str, Any]) -> str:
        return "\n".join(f"{key}: {value}" for key, value in result.items())

    def handle(self, *args: Any, **options: Any) -> None:
        as_json = options.get("json", False)
        try:
            result = self.run(**options)
        except TonleError as exc:
            self._fail(exc.code, exc.message, as_json)
        except ValidationError as exc:
            self._fail("invalid_input", "; ".join(exc.messages), as_json)
        except CommandError as exc:
            self._fail("invalid_input", str(exc), as_json)
        if as_json:
            self.stdout.write(json.dumps(result, default=str, ensure_ascii=False))
        else:
            self.stdout.write(self.describe(result))

    def _fail(self, code: str, message: str, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps({"error": code, "message": message}))
        else:
            self.stderr.write(f"error ({code}): {message}")
        sys.exit(1)
