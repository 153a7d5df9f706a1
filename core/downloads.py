"""Download headers built in one place: a file name cleaned of anything that could
break out of the header or the download folder, sent as RFC 6266 asks (an ASCII
fallback and the UTF-8 name, so Khmer names survive), and `no-store` so no cache
keeps a copy of financial data."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from django.http import HttpResponseBase
from django.utils.cache import patch_cache_control

NAME_MAX_CHARS = 150
# Quotes and backslashes end or escape the quoted string; slashes and the rest are
# path separators or names Windows refuses; % would be decoded by some browsers.
_REPLACED = set('"\\/:*?<>|%;')
_NON_ASCII_RUN = re.compile(r"[^ -~]+")


def download_name_clean(name: str, *, default: str = "download") -> str:
    """The name with control and format characters (CR, LF, NUL, bidi overrides)
    dropped, separators and quotes replaced by `_`, spaces collapsed and no
    leading dot; letters of any script are kept."""
    kept = []
    for char in unicodedata.normalize("NFC", str(name)):
        category = unicodedata.category(char)
        if category.startswith("C"):
            continue
        if category in ("Zl", "Zp") or char.isspace():
            kept.append(" ")
        elif char in _REPLACED:
            kept.append("_")
        else:
            kept.append(char)
    cleaned = " ".join("".join(kept).split()).lstrip(". ")
    if len(cleaned) > NAME_MAX_CHARS:
        stem, dot, extension = cleaned.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            cleaned = stem[: NAME_MAX_CHARS - len(extension) - 1] + "." + extension
        else:
            cleaned = cleaned[:NAME_MAX_CHARS]
    return cleaned or default


def _ascii_fallback(name: str) -> str:
    """For clients without RFC 5987: accents dropped (é → e), each run of other
    non-ASCII characters one `_`."""
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_ASCII_RUN.sub("_", letters)


def content_disposition(name: str, *, inline: bool = False) -> str:
    """`attachment` (or `inline`) with `filename="<ascii>"` and
    `filename*=UTF-8''<percent-encoded>` (RFC 6266 / RFC 5987) from a cleaned name."""
    cleaned = download_name_clean(name)
    fallback = _ascii_fallback(cleaned)
    kind = "inline" if inline else "attachment"
    return (
        f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(cleaned, safe='')}"
    )


def no_store(response: HttpResponseBase) -> HttpResponseBase:
    """Tell every cache to keep no copy (replacing any max-age, public or
    private the response carried)."""
    del response["Cache-Control"]
    patch_cache_control(response, no_store=True)
    return response


def download_headers_set(
    response: HttpResponseBase, *, name: str, inline: bool = False
) -> HttpResponseBase:
    """A financial download's headers: the cleaned name and no-store."""
    response["Content-Disposition"] = content_disposition(name, inline=inline)
    return no_store(response)
