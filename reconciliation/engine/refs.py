"""References and party names in the one form the engine compares.

A reference is compared without case, spaces, dashes, dots or leading zeros in its
digit runs, so "INV-000042", "inv 42" and "Inv.42" are one key. A bank line's free
text is cut into such keys: each word, and a short letters-only word joined to the
number after it ("INV 42").
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import DamerauLevenshtein

MIN_KEY = 3  # shorter keys ("42", "A1") would match any text
MIN_DIGITS_ONLY = 4  # a bare number must have this many digits to be a key
MIN_DIGITS_ALONE = 6  # an item's number stands for it alone from this length
_RUN_MAX = 24

_GLUE = str.maketrans("", "", "-_./'\"`")  # inside a reference, these mean nothing
_SEPARATORS = re.compile(r"[\s,;:#\\()\[\]{}|+*&=<>!?@]+")
_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")
_PREFIX_MAX = 6  # "INV", "ORDER", "BILL", "REF", "PO"


def ref_key(text: str) -> str:
    """One reference as a key; "" when it is too short to be one."""
    key = _SEPARATORS.sub("", _plain(text))
    return key if _usable(key) else ""


def ref_keys(text: str) -> tuple[str, ...]:
    """The keys an item's reference is found by: the whole reference, and its
    number alone when that is long enough to stand for it (some banks drop the
    letters: "INV-2026-00042" is also paid as "2026/00042")."""
    key = ref_key(text)
    if not key:
        return ()
    digits = "".join(ch for ch in key if ch.isdigit())
    if digits != key and len(digits) >= MIN_DIGITS_ALONE:
        return (key, digits)
    return (key,)


def _plain(text: str) -> str:
    # leading zeros go before the glue does, so "2026-0042" keeps its two runs
    return _LEADING_ZEROS.sub("", text.upper()).translate(_GLUE)


def _usable(key: str) -> bool:
    if len(key) < MIN_KEY:
        return False
    if key.isdigit():
        return len(key) >= MIN_DIGITS_ONLY
    return True


def text_keys(text: str) -> list[str]:
    """Every key a bank line's free text may carry, in order, without repeats:
    each word, and a short letters-only word joined with the numbers after it
    ("INV 2026 42" gives INV2026 and INV202642), numbers with numbers too."""
    if not text:
        return []
    keys: list[str] = []
    seen: set[str] = set()
    run = ""
    for word in _SEPARATORS.split(_plain(text)):
        if not word:
            continue
        if run and word[0].isdigit():
            run += word
            if run not in seen:
                seen.add(run)
                keys.append(run)
        else:
            run = ""
        if word not in seen and _usable(word):
            seen.add(word)
            keys.append(word)
        if not run and (
            (len(word) <= _PREFIX_MAX and word.isalpha()) or word.isdigit()
        ):
            run = word
        if len(run) > _RUN_MAX:
            run = ""
    return keys


_PARTY_DROP = re.compile(
    r"\b(CO|LTD|PLC|LLC|INC|CORP|COMPANY|LIMITED|MR|MRS|MS|MISS|DR|THE)\b"
)
_NOT_WORD = re.compile(r"[^\w]+")


def party_key(name: str) -> str:
    """A payer or customer name as one comparable key: case, accents, punctuation,
    titles and company suffixes dropped, words kept in order."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKC", name).upper()
    text = _NOT_WORD.sub(" ", text)
    text = _PARTY_DROP.sub(" ", text)
    return " ".join(text.split())


def account_key(number: str) -> str:
    """An account number or Bakong id without spaces, dashes or case."""
    return _SEPARATORS.sub("", number.upper().translate(_GLUE)) if number else ""


def typo_of(a: str, b: str) -> bool:
    """Whether two keys differ by a typist's slip: one character added, dropped
    or changed, or two neighbours swapped."""
    if a == b or min(len(a), len(b)) < 5:
        return False
    return DamerauLevenshtein.distance(a, b, score_cutoff=1) <= 1
