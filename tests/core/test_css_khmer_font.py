"""Khmer renders with the Khmer font everywhere on the pages, monospace included
(the KHQR string and secrets are in <code>/<pre>)."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

CSS = Path(settings.BASE_DIR) / "static" / "css" / "tonle.css"
KHMER = '"Noto Sans Khmer"'


def _rules() -> list[tuple[list[str], str]]:
    text = re.sub(r"/\*.*?\*/", "", CSS.read_text(encoding="utf-8"), flags=re.S)
    return [
        ([s.strip() for s in selectors.split(",")], body)
        for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text)
    ]


def _families(body: str) -> str:
    found = re.search(r"font-family\s*:\s*([^;]+)", body) or re.search(
        r"(?<![-\w])font\s*:\s*[^;]*?\d[^;,\s]*\s+([^;]+)", body
    )
    return found.group(1) if found else ""


def _family_for(selector: str) -> str:
    return " ".join(
        _families(body) for selectors, body in _rules() if selector in selectors
    )


def test_the_khmer_font_is_declared_from_a_file_that_exists():
    faces = [body for selectors, body in _rules() if selectors == ["@font-face"]]
    khmer = [body for body in faces if KHMER in body]
    assert khmer, "no @font-face for Noto Sans Khmer"
    for body in khmer:
        name = re.search(r'url\("\.\./fonts/([^"]+)"\)', body).group(1)
        assert (CSS.parent.parent / "fonts" / name).is_file(), name


def test_the_page_text_falls_back_to_the_khmer_font():
    assert KHMER in _family_for(":root")


def test_code_and_pre_fall_back_to_the_khmer_font_before_the_generic_monospace():
    for selector in ("code", "pre", "kbd"):
        families = _family_for(selector)
        assert KHMER in families, selector
        names = [f.strip() for f in families.split(",")]
        if "monospace" in names:
            assert names.index(KHMER) < names.index("monospace"), selector
