"""Compile the project's `.po` catalogues into the `.mo` files Django reads.

polib does it in Python, so a fresh machine needs no gettext; `make setup`, `make
test` and the test session call it, and the `.mo` files are never committed.
"""

from __future__ import annotations

import os
from pathlib import Path

import polib
from django.conf import settings


def catalogues() -> list[Path]:
    roots = [Path(p) for p in settings.LOCALE_PATHS]
    roots += [Path(settings.BASE_DIR) / app / "locale" for app in _project_apps()]
    return sorted(po for root in roots if root.is_dir() for po in root.rglob("*.po"))


def _project_apps() -> list[str]:
    base = Path(settings.BASE_DIR)
    return [app for app in settings.INSTALLED_APPS if (base / app).is_dir()]


def translations_compile() -> list[Path]:
    """Write each catalogue's `.mo` when it is missing or older than its `.po`."""
    written = []
    for po in catalogues():
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        # two test workers may compile at once: each renames its own whole file
        partial = mo.with_suffix(f".mo.{os.getpid()}")
        polib.pofile(str(po)).save_as_mofile(str(partial))
        os.replace(partial, mo)
        written.append(mo)
    return written
