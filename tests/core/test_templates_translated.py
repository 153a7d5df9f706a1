"""Every word a person reads on a page goes through the Khmer catalogue.

The lint reads each template under TRANSLATED_DIRS with Django's own lexer: text
inside `{% translate %}` / `{% blocktranslate %}` is translated, template variables
and tags are data; what is left, with the markup taken out, must hold no word
(visible text and the title/placeholder/aria-label/alt a screen reader speaks).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType

TRANSLATED_DIRS = ["statements", "reconciliation", "invoices"]

# brand and protocol names stay in Latin script in every language
BRAND_WORDS = {"Tonle", "KHQR", "API", "CSV", "XLSX", "PDF", "SHA-256", "md5"}
SPOKEN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
DATA = "\x00"  # stands for a variable or a tag: never a word


def _templates() -> list[Path]:
    root = Path(settings.BASE_DIR) / "templates"
    found = [p for d in TRANSLATED_DIRS for p in sorted((root / d).rglob("*.html"))]
    return found


def _flatten(source: str) -> str:
    """The template with translated runs dropped and other template syntax as DATA."""
    out, inside = [], None
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if inside:
                if name == inside:
                    inside = None
                continue
            if name in ("blocktranslate", "blocktrans", "comment", "verbatim"):
                inside = "end" + name
            out.append(DATA)
        elif token.token_type == TokenType.TEXT and not inside:
            out.append(token.contents)
        elif not inside:
            out.append(DATA)
    return "".join(out)


def _words(text: str) -> list[str]:
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    words = re.findall(r"[A-Za-z][A-Za-z0-9'’\-]*", text)
    return [w for w in words if w not in BRAND_WORDS]


def untranslated(source: str) -> list[str]:
    html = _flatten(source)
    html = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", html, flags=re.S | re.I)
    # a key to press, a file name or a command: typed as written, never translated
    html = re.sub(r"<(kbd|code)>[^<]*</\1>", " ", html)
    found = []
    for tag in re.findall(r"<[^>]*>", html):
        for name in SPOKEN_ATTRIBUTES:
            for value in re.findall(rf'\s{name}="([^"]*)"', tag):
                if _words(value):
                    found.append(f'{name}="{value}"')
    text = re.sub(r"<[^>]*>", DATA, html)
    for run in text.split(DATA):
        if _words(run):
            found.append(" ".join(run.split()))
    return found


@pytest.mark.parametrize(
    "template", _templates(), ids=lambda p: str(p.relative_to(p.parents[2]))
)
def test_visible_text_is_inside_translate_tags(template):
    assert untranslated(template.read_text(encoding="utf-8")) == []


def test_the_lint_sees_text_outside_translate_tags():
    source = (
        '{% load i18n %}<h1>{% translate "Statements" %}</h1><p>Money in</p>'
        '<input placeholder="note"><script>var a = "skip me";</script>'
        "{% blocktranslate %}Total {{ n }}{% endblocktranslate %} {{ amount }} KHQR"
    )
    assert untranslated(source) == ['placeholder="note"', "Money in"]
