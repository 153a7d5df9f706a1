"""`python manage.py khqr encode | decode | verify` (DESIGN.md, command line).

A thin wrapper: the work is ``payments.khqr.cli``, which has no Django in it.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.khqr import cli


class Command(BaseCommand):
    help = (
        "Encode KHQR codes from JSON Lines on stdin, decode codes (an argument or "
        "stdin), or verify one code (exit 0 when valid)."
    )
    stealth_options = ("stdin",)
    # The codec needs no database, URLs or models: the system checks (which
    # import every view) would be most of the start-up time.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_arguments(parser, parser_class=CommandParser)

    def handle(self, *args: str, **options: object) -> None:
        stdin = options.get("stdin") or sys.stdin
        code = cli.run(options, stdin, self._write)
        if code != cli.EXIT_OK:
            raise CommandError("khqr: the code is not valid", returncode=code)

    def _write(self, block: str) -> None:
        # Each block of answers goes out at once: a program feeding lines one
        # at a time gets each answer without waiting for the end of its input.
        self.stdout.write(block, ending="")
        self.stdout.flush()
