"""Every text a person reads in these templates is inside {% translate %} or
{% blocktranslate %}: a lint, so a new English sentence cannot slip past Khmer."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# the directories whose every text is translated (the top-level templates too)
TRANSLATED_DIRS = [
    "", "admin", "registration", "merchants", "payments",
    "statements", "reconciliation", "invoices",
]  # fmt: skip
# names and codes that read the same in every language
BRANDS = {
    "Tonle", "KHQR", "API", "Bakong", "NBC", "CSV", "XLSX", "Excel", "PDF",
    "PNG", "SVG", "URL", "md5", "ms", "Django", "SHA-256", "ZIP",
}  # fmt: skip
# attributes a person reads or hears (a screen reader, a tooltip, a confirm box)
READ_ATTRIBUTES = {
    "title", "placeholder", "aria-label", "alt", "data-confirm",
    "data-confirm-button", "label",
}  # fmt: skip
LETTER = re.compile(r"[^\W\d_]")


def _templates() -> list[Path]:
    found = []
    for folder in TRANSLATED_DIRS:
        root = TEMPLATES / folder
        files = root.glob("*") if not folder else root.rglob("*")
        found += [p for p in files if p.suffix in {".html", ".txt"} and p.is_file()]
    return sorted(found)


def _without_template_code(source: str) -> str:
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", " ", source, flags=re.S)
    text = re.sub(r"{#.*?#}", " ", text, flags=re.S)
    text = re.sub(
        r"{%\s*blocktrans(late)?\b.*?{%\s*endblocktrans(late)?\s*%}",
        " ",
        text,
        flags=re.S,
    )
    text = re.sub(r"{%.*?%}", " ", text, flags=re.S)
    return re.sub(r"{{.*?}}", " ", text, flags=re.S)


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        # code is literal (a file name, a key, a string to copy), never a sentence
        if tag in {"script", "style", "code"}:
            self._hidden += 1
        for name, value in attrs:
            # data-word-*: the words tonle.js writes on the page
            if (name in READ_ATTRIBUTES or name.startswith("data-word-")) and value:
                self.texts.append(value)
        # a button's value is sent, not shown; an input button shows its value
        if tag == "input":
            kind = dict(attrs).get("type", "")
            if kind in {"submit", "button", "reset"} and dict(attrs).get("value"):
                self.texts.append(dict(attrs)["value"])

    def handle_endtag(self, tag):
        if tag in {"script", "style", "code"} and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.texts.append(data)


def untranslated(source: str) -> list[str]:
    """The pieces of visible text left outside the translate tags."""
    parser = _Visible()
    parser.feed(_without_template_code(source))
    parser.close()
    left = []
    for text in parser.texts:
        words = [w for w in re.split(r"[\s(),.:;·/]+", text) if w]
        # one letter alone is a key to press (j, k, c), not a word
        if any(LETTER.search(w) and w not in BRANDS and len(w) > 1 for w in words):
            left.append(" ".join(text.split()))
    return left


def test_the_lint_sees_plain_text_attributes_and_buttons_and_passes_tags():
    assert untranslated("<p>Paid</p>") == ["Paid"]
    assert untranslated('<img alt="KHQR code">') == ["KHQR code"]
    assert untranslated('<input type="submit" value="Send">') == ["Send"]
    assert untranslated('<form data-confirm="Sure?"></form>') == ["Sure?"]
    assert untranslated('<body data-word-copy="Copy">') == ["Copy"]
    assert untranslated('{% load i18n %}<p>{% translate "Paid" %}</p>') == []
    assert (
        untranslated(
            "<p>{% blocktranslate trimmed %}Hi {{ name }}{% endblocktranslate %}</p>"
        )
        == []
    )
    assert untranslated("<p>{{ amount }} · 12.50 — KHQR (PNG)</p>") == []
    assert untranslated("<script>const label = 'Paid';</script>") == []
    assert untranslated("<p>{% translate 'See' %} <code>manifest.json</code></p>") == []
    assert untranslated('<button name="format" value="pdf">PDF</button>') == []
    assert untranslated("<p><kbd>j</kbd> <kbd>k</kbd></p>") == []


def test_the_lint_covers_the_directories_it_names():
    names = {p.relative_to(TEMPLATES).as_posix() for p in _templates()}
    assert {"base.html", "registration/login.html", "payments/list.html"} <= names
    assert "merchants/dashboard/khqr.html" in names
    assert {"statements/imports/detail.html", "reconciliation/queue.html"} <= names


@pytest.mark.parametrize(
    "path", _templates(), ids=lambda p: p.relative_to(TEMPLATES).as_posix()
)
def test_every_visible_text_is_translated(path):
    assert untranslated(path.read_text(encoding="utf-8")) == []
