"""`python manage.py compile_translations`: the `.po` catalogues to `.mo`, without
gettext (Django's own compilemessages needs msgfmt installed)."""

from django.core.management.base import BaseCommand

from core.translations import translations_compile


class Command(BaseCommand):
    help = "Compile the Khmer (and any other) translation catalogues to .mo files."

    def handle(self, *args, **options):
        written = translations_compile()
        self.stdout.write(f"compiled {len(written)} catalogue(s)")
