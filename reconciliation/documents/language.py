"""The report's words in the language it is rendered in.

English stays as it always was: English headings with the Khmer beside them
(words.KM). Rendered in another language (translation.override with the
requester's language), a heading is the catalogue's translation alone."""

from __future__ import annotations

from django.utils.translation import gettext


def words(english: str, khmer: str = "") -> str:
    """A heading or label: the translation, else the English (· the Khmer)."""
    translated = gettext(english)
    if translated != english:
        return translated
    return f"{english} · {khmer}" if khmer else english


def translated(english: str) -> bool:
    """Whether the active language has its own words for `english`."""
    return gettext(english) != english
