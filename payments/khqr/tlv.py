"""EMVCo tag-length-value parsing that never hangs and never raises IndexError.

Lengths count UTF-16 code units, as the NBC SDK (JavaScript) does; for text with no
character outside the Basic Multilingual Plane (all of Khmer, Thai and Latin) that is
the same as Python's ``len``. Strings that do hold such characters are parsed on
their UTF-16 form (see ``to_units``) and their values converted back.
"""

from __future__ import annotations

from .errors import KhqrDecodeError
from .model import Tlv

_DIGITS = frozenset("0123456789")
_HEX2 = [f"{n:02X}" for n in range(256)]


def crc_hex(crc: int) -> str:
    """A CRC-16 value as its four hex digits (tag 63). Two bytes' digits joined:
    as fast as a table of all 65,536 (which every process that imports the
    codec, a reconciliation worker too, held as 4 MB of strings)."""
    return _HEX2[crc >> 8] + _HEX2[crc & 0xFF]


def has_astral(text: str) -> bool:
    return not text.isascii() and max(text) > "\uffff"


def to_units(text: str) -> str:
    """The string with each astral character split into its surrogate pair."""
    out = []
    for ch in text:
        o = ord(ch)
        if o > 0xFFFF:
            o -= 0x10000
            out.append(chr(0xD800 + (o >> 10)))
            out.append(chr(0xDC00 + (o & 0x3FF)))
        else:
            out.append(ch)
    return "".join(out)


def from_units(text: str) -> str:
    """Join surrogate pairs back into characters."""
    if text.isascii():
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def split(
    text: str,
    start: int = 0,
    end: int | None = None,
    *,
    where: str = "",
    crc_last: bool = False,
) -> list[tuple[str, str, int]]:
    """Split ``text[start:end]`` into ``(tag, value, offset)`` triples.

    Raises KhqrDecodeError naming the offset and what is wrong: a truncated header,
    a non-digit id or length, a length that runs past the end, or (``crc_last``)
    anything after the CRC (tag 63).
    """
    if end is None:
        end = len(text)
    items = []
    append = items.append
    i = start
    while i < end:
        if end - i < 4:
            raise KhqrDecodeError(
                f"truncated data object{where} at offset {i}: "
                f"{text[i:end]!r} is shorter than an id and a length",
                offset=i,
            )
        tag = text[i : i + 2]
        length = text[i + 2 : i + 4]
        if not (tag[0] in _DIGITS and tag[1] in _DIGITS):
            raise KhqrDecodeError(
                f"id {tag!r}{where} at offset {i} is not two digits", offset=i
            )
        if not (length[0] in _DIGITS and length[1] in _DIGITS):
            raise KhqrDecodeError(
                f"length {length!r} of tag {tag}{where} at offset {i} "
                "is not two digits",
                offset=i,
            )
        n = int(length)
        j = i + 4 + n
        if j > end:
            raise KhqrDecodeError(
                f"tag {tag}{where} at offset {i} says {n} characters but only "
                f"{end - i - 4} remain",
                offset=i,
            )
        append((tag, text[i + 4 : j], i))
        if crc_last and tag == "63" and j != end:
            raise KhqrDecodeError(
                f"{end - j} characters of junk after the CRC (tag 63 at offset {i})",
                offset=j,
            )
        i = j
    return items


def parse_template(value: str, tag: str, offset: int) -> tuple[Tlv, ...]:
    """Parse a template's value strictly (raises on any malformed data object)."""
    return tuple(Tlv(sub, v) for sub, v, _ in split(value, where=f" in template {tag}"))
