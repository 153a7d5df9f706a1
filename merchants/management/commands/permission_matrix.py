from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.urls import get_resolver

from merchants.permission_matrix import render_markdown, route_access, undeclared


class Command(BaseCommand):
    help = (
        "Print who may use each route (roles, staff, API key scopes) as Markdown; "
        "--write PATH saves it, --check PATH fails if PATH is out of date."
    )

    def add_arguments(self, parser):
        parser.add_argument("--write", metavar="PATH")
        parser.add_argument("--check", metavar="PATH")

    def handle(self, *args, **options):
        routes = route_access(get_resolver())
        missing = undeclared(routes)
        if missing:
            names = ", ".join(f"{r.path} ({r.view})" for r in missing)
            raise CommandError(f"routes that declare no access: {names}")
        text = render_markdown(routes)
        if options["check"]:
            current = Path(options["check"]).read_text(encoding="utf-8")
            if current != text:
                raise CommandError(
                    f"{options['check']} is out of date: run "
                    f"`python manage.py permission_matrix --write {options['check']}`"
                )
            self.stdout.write(f"{options['check']} is up to date")
            return
        if options["write"]:
            Path(options["write"]).write_text(text, encoding="utf-8")
            self.stdout.write(f"wrote {options['write']} ({len(routes)} routes)")
            return
        self.stdout.write(text)
