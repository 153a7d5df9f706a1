"""JSON bodies read safely: exact numbers, a bounded size, and every malformed or
hostile body refused as `invalid_input` (never a 500)."""

from __future__ import annotations

import codecs
import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from core.exceptions import PayloadTooLarge


def body_too_large() -> PayloadTooLarge:
    """The error for a body past DATA_UPLOAD_MAX_MEMORY_SIZE (413, in the API's
    shape, for the API and the inbound webhooks alike)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    return PayloadTooLarge(
        f"body: larger than {limit / (1024 * 1024):g} MB", field="body"
    )


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_body_loads(text: str) -> Any:
    """Parse JSON text with fractions as Decimal (never float); raise ValueError
    naming the trouble for malformed text, NaN / Infinity, or nesting too deep
    for the parser (a RecursionError, which would otherwise be a 500)."""
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


class DecimalJSONParser(JSONParser):
    """JSON numbers become Decimal, never float: `5.10` stays exactly 5.10. The body
    is read up to the size limit (413 past it) and any parse failure, deep
    nesting included, is a 400 `invalid_input`."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise body_too_large()
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError):
            raise ParseError(f"body: not valid {encoding} text") from None
        try:
            return json_body_loads(text)
        except ValueError as exc:
            raise ParseError(f"body: not valid JSON ({exc})") from None
