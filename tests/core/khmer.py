"""The Khmer catalogue as tests read it: a word's translation comes from the
.po file itself, so a test never copies the text it checks."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polib
from django.conf import settings
from django.urls import reverse


@lru_cache(maxsize=1)
def _catalogue() -> polib.POFile:
    return polib.pofile(
        str(Path(settings.BASE_DIR) / "locale/km/LC_MESSAGES/django.po")
    )


def khmer(msgid: str, context: str | None = None) -> str:
    """The Khmer of `msgid`; fails when it is missing or left empty."""
    entry = _catalogue().find(msgid, msgctxt=context) if context else None
    entry = entry or _catalogue().find(msgid)
    assert entry is not None, f"{msgid!r} is not in the catalogue"
    words = entry.msgstr or entry.msgstr_plural.get(0, "")
    assert words and words != msgid, f"{msgid!r} has no Khmer"
    return words


def in_khmer(client) -> None:
    """Choose Khmer the way a person does: the header's language switch."""
    response = client.post(reverse("set_language"), {"language": "km", "next": "/"})
    assert response.status_code == 302
