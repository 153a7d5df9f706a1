"""References and party names in the one form the engine compares.

A reference is compared without case, spaces, dashes, dots, slashes or leading
zeros in its digit runs, so "INV-000042", "inv 42" and "Inv.42" are one key. A bank
line's free text is cut into such keys: each word, and a short letters-only word
joined with the numbers after it ("INV 2026 42").

This runs once per line and item of a run, so it is written with `str.translate`
and `split` (C loops) rather than regular expressions.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import DamerauLevenshtein

MIN_KEY = 3  # shorter keys ("42", "A1") would match any text
MIN_DIGITS_ONLY = 4  # a bare number must have this many digits to be a key
MIN_DIGITS_ALONE = 6  # an item's number stands for it alone from this length
_PREFIX_MAX = 6  # "INV", "ORDER", "BILL", "REF", "PO"
_RUN_MAX = 24

_GLUE_CHARS = "-_./'\"`"  # inside a reference, these mean nothing …
_SEPARATOR_CHARS = " \t\r\n\f\v,;:#\\()[]{}|+*&=<>!?@"  # … these end a word
_MARK = "\x1f"  # where glue was: digit runs on either side stay two runs
_WORDS = str.maketrans(
    {**dict.fromkeys(_GLUE_CHARS, _MARK), **dict.fromkeys(_SEPARATOR_CHARS, " ")}
)
_ONE_KEY = str.maketrans(
    {**dict.fromkeys(_GLUE_CHARS, _MARK), **dict.fromkeys(_SEPARATOR_CHARS, _MARK)}
)
_ZEROS_AFTER_NON_DIGIT = re.compile(r"(?<![0-9])0+(?=[0-9])")
_NON_DIGITS = re.compile(r"[^0-9]+")
# many texts are cleaned as one string cut at this character (a C pass each,
# not a call per text); a batch with a text that holds it goes text by text
_CUT = "\x1e"
_NON_DIGITS_OR_CUT = re.compile(r"[^0-9\x1e]+")


def _clean(word: str) -> str:
    """A word without its glue, each digit run without leading zeros."""
    if "0" in word:
        word = _ZEROS_AFTER_NON_DIGIT.sub("", word)
    return word.replace(_MARK, "") if _MARK in word else word


def _usable(key: str) -> bool:
    if len(key) < MIN_KEY:
        return False
    if key.isdigit():
        return len(key) >= MIN_DIGITS_ONLY
    return True


def ref_key(text: str) -> str:
    """One reference as a key; "" when it is too short to be one."""
    key = _clean(text.upper().translate(_ONE_KEY))
    return key if _usable(key) else ""


def ref_keys(text: str) -> tuple[str, ...]:
    """The keys an item's reference is found by: the whole reference, and its
    number alone when that is long enough to stand for it (some banks drop the
    letters: "INV-2026-00042" is also paid as "2026/00042")."""
    key = ref_key(text)
    if not key:
        return ()
    if key.isdigit():
        return (key,)
    digits = (
        _NON_DIGITS.sub("", key)  # for ASCII the same as isdigit(), in C
        if key.isascii()
        else "".join(ch for ch in key if ch.isdigit())
    )
    if len(digits) >= MIN_DIGITS_ALONE:
        return (key, digits)
    return (key,)


def ref_keys_many(texts: list[str]) -> list[tuple[str, ...]]:
    """[ref_keys(t) for t in texts], with the cleaning done once for all."""
    joined = _CUT.join(texts)
    if not texts or joined.count(_CUT) != len(texts) - 1:
        return [ref_keys(text) for text in texts]
    plain = _ZEROS_AFTER_NON_DIGIT.sub("", joined.upper().translate(_ONE_KEY))
    plain = plain.replace(_MARK, "")
    if not plain.isascii():
        return [ref_keys(text) for text in texts]
    out: list[tuple[str, ...]] = []
    add = out.append
    for key, digits in zip(
        plain.split(_CUT), _NON_DIGITS_OR_CUT.sub("", plain).split(_CUT), strict=True
    ):
        size = len(key)
        if size < MIN_KEY:
            add(())
        elif len(digits) == size:  # all digits (ASCII)
            add((key,) if size >= MIN_DIGITS_ONLY else ())
        elif len(digits) >= MIN_DIGITS_ALONE:
            add((key, digits))
        else:
            add((key,))
    return out


def text_keys_many(texts: list[str]) -> list[list[str]]:
    """[text_keys(t) for t in texts], with the cleaning done once for all."""
    joined = _CUT.join(texts)
    if not texts or joined.count(_CUT) != len(texts) - 1:
        return [text_keys(text) for text in texts]
    plain = _ZEROS_AFTER_NON_DIGIT.sub("", joined.upper().translate(_WORDS))
    return [_words_keys(one) for one in plain.split(_CUT)]


def text_keys(text: str) -> list[str]:
    """Every key a bank line's free text may carry: each word, a short
    letters-only word or a number joined with the numbers after it ("INV 2026
    42" gives INV2026 and INV202642), and a glued reference whole
    ("INV-T1105-0" gives INVT11050). May repeat a key."""
    if not text:
        return []
    plain = text.upper().translate(_WORDS)
    if "0" in plain:  # one pass for the whole text, not one per word
        plain = _ZEROS_AFTER_NON_DIGIT.sub("", plain)
    return _words_keys(plain)


def _words_keys(plain: str) -> list[str]:
    """text_keys of a text already upper-cased, translated and zero-stripped.
    (The glue mark is whitespace to split(): glued digit runs are two words.)"""
    keys: list[str] = []
    add = keys.append
    run = ""
    for word in plain.split():
        size = len(word)
        if word.isdigit():
            if run:
                run += word
                add(run)
                if len(run) > _RUN_MAX:
                    run = ""
            else:
                run = word
            if size >= MIN_DIGITS_ONLY:
                add(word)
        elif run and word[0].isdigit():
            run += word
            add(run)
            if len(run) > _RUN_MAX:
                run = ""
            if size >= MIN_KEY:
                add(word)
        else:
            run = word if size <= _PREFIX_MAX and word.isalpha() else ""
            if size >= MIN_KEY:
                add(word)
    if _MARK in plain:
        # a glued reference printed whole ("INV-T1105-0") is also its own key,
        # as an item's reference is: its parts alone need not make it up (a
        # letter inside a part breaks the prefix-and-numbers runs above)
        for chunk in plain.split(" "):
            if _MARK in chunk:
                whole = chunk.replace(_MARK, "")
                if _usable(whole):
                    add(whole)
    return keys


_PARTY_DROP = frozenset(
    ("CO", "LTD", "PLC", "LLC", "INC", "CORP", "COMPANY", "LIMITED")
    + ("MR", "MRS", "MS", "MISS", "DR", "THE")
)
_PARTY_SPACES = str.maketrans(dict.fromkeys(_GLUE_CHARS + _SEPARATOR_CHARS, " "))


def party_key(name: str) -> str:
    """A payer or customer name as one comparable key: case, punctuation, titles
    and company suffixes dropped, words kept in order."""
    if not name:
        return ""
    text = name.upper().translate(_PARTY_SPACES)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(w for w in text.split() if w not in _PARTY_DROP)


def account_key(number: str) -> str:
    """An account number or Bakong id without spaces, dashes or case."""
    if not number:
        return ""
    return number.upper().translate(_ONE_KEY).replace(_MARK, "")


def typo_of(a: str, b: str) -> bool:
    """Whether two keys differ by a typist's slip: one character added, dropped
    or changed, or two neighbours swapped."""
    shortest = min(len(a), len(b))
    if a == b or shortest < 5 or abs(len(a) - len(b)) > 1:
        return False
    # one slip leaves either the first or the last three characters alone
    if shortest >= 7 and a[:3] != b[:3] and a[-3:] != b[-3:]:
        return False
    return DamerauLevenshtein.distance(a, b, score_cutoff=1) <= 1
