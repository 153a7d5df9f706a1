"""Base for Tonle's management commands: `--json` prints one object on stdout and a
failure exits non-zero with {"error": CODE, "message": TEXT} (the DESIGN contract)."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from core.exceptions import TonleError


class JsonCommand(BaseCommand):
    # a command whose documents people read sets this: it then takes `--lang` and
    # runs in that language (its output for machines stays English)
    language_help: str | None = None

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        if self.language_help:
            parser.add_argument(
                "--lang",
                choices=[code for code, _name in settings.LANGUAGES],
                default="en",
                help=f"{self.language_help} (default en)",
            )
        return parser

    def add_arguments(self, parser: CommandParser) -> None:  # pragma: no cover
        pass

    def run(self, **options: Any) -> dict[str, Any]:
        raise NotImplementedError

    def describe(self, result: dict[str, Any]) -> str:
        return "\n".join(f"{key}: {value}" for key, value in result.items())

    def handle(self, *args: Any, **options: Any) -> None:
        as_json = options.get("json", False)
        language = options.get("lang")
        try:
            with (
                translation.override(language) if language else contextlib.nullcontext()
            ):
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
