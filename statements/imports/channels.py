"""A ledger channel from a bank's own words (its channel column, else the line's
description), matched on whole words and known phrases, never on fragments:
"Cash deposit" is not a card payment because "deposit" contains "pos", and a
"Coffee" is not a fee.

Latin-script phrases match as whole words (`top up` also as `top-up` and `topup`).
Khmer and Thai write words without spaces, so word boundaries do not exist there:
their entries are whole phrases as banks print them, and a match must begin and end
on a character-cluster boundary (not inside a subscript consonant or before a
vowel sign). When phrases of several channels are in the text, the first in
CHANNEL_PRIORITY wins: the specific purposes (a fee, a bill) before the rails
(KHQR, a transfer) they are paid through.

Pure: no Django.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping

COENG = "\u17d2"  # Khmer: the next consonant is written below this one

CHANNEL_PRIORITY = (
    "CROSSBORDER",
    "FEE",
    "INTEREST",
    "BILL",
    "TOPUP",
    "KHQR",
    "TRANSFER",
    "CARD",
)

# (phrase, channel): English, Khmer and Thai, as banks print them.
COMMON_PHRASES: tuple[tuple[str, str], ...] = (
    # cross-border: a QR of another country's scheme
    ("thaiqr", "CROSSBORDER"),
    ("thai qr", "CROSSBORDER"),
    ("promptpay", "CROSSBORDER"),
    ("cross border", "CROSSBORDER"),
    ("crossborder", "CROSSBORDER"),
    ("ឆ្លងដែន", "CROSSBORDER"),
    ("ឆ្លងព្រំដែន", "CROSSBORDER"),
    # what the bank charged
    ("fee", "FEE"),
    ("fees", "FEE"),
    ("charge", "FEE"),
    ("charges", "FEE"),
    ("service charge", "FEE"),
    ("commission", "FEE"),
    ("ថ្លៃសេវា", "FEE"),
    ("កម្រៃសេវា", "FEE"),
    ("ค่าธรรมเนียม", "FEE"),
    ("interest", "INTEREST"),
    ("ការប្រាក់", "INTEREST"),
    ("ดอกเบี้ย", "INTEREST"),
    # bills and top-ups
    ("bill", "BILL"),
    ("bills", "BILL"),
    ("bill payment", "BILL"),
    ("biller", "BILL"),
    ("បង់វិក្កយបត្រ", "BILL"),
    ("ទូទាត់វិក្កយបត្រ", "BILL"),
    ("បង់ថ្លៃអគ្គិសនី", "BILL"),
    ("បង់ថ្លៃទឹក", "BILL"),
    ("ชำระบิล", "BILL"),
    ("ชำระค่าบริการ", "BILL"),
    ("top up", "TOPUP"),
    ("recharge", "TOPUP"),
    ("airtime", "TOPUP"),
    ("បញ្ចូលលុយ", "TOPUP"),
    ("បញ្ចូលទឹកប្រាក់ទូរស័ព្ទ", "TOPUP"),
    ("កាតទូរស័ព្ទ", "TOPUP"),
    ("เติมเงิน", "TOPUP"),
    # the rails
    ("khqr", "KHQR"),
    ("qr", "KHQR"),
    ("bakong", "KHQR"),
    ("បាគង", "KHQR"),
    ("transfer", "TRANSFER"),
    ("ផ្ទេរប្រាក់", "TRANSFER"),
    ("ផ្ទេរ", "TRANSFER"),
    ("โอนเงิน", "TRANSFER"),
    ("card", "CARD"),
    ("atm", "CARD"),
    ("pos", "CARD"),
    ("visa", "CARD"),
    ("mastercard", "CARD"),
    ("អេធីអឹម", "CARD"),
    ("កាតឥណទាន", "CARD"),
    ("កាតឥណពន្ធ", "CARD"),
)


def _latin_pattern(phrase: str) -> str:
    words = re.findall(r"[a-z0-9]+", phrase.lower())
    # words may be joined by spaces, hyphens, dots or nothing ("top-up", "topup")
    return (
        r"(?<![a-z0-9])" + r"[\s\-_./]*".join(map(re.escape, words)) + r"(?![a-z0-9])"
    )


def _cluster_edge(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] begins and ends between character clusters."""
    if start > 0 and text[start - 1] == COENG:
        return False
    if end < len(text):
        following = text[end]
        if following == COENG or unicodedata.category(following) in ("Mn", "Mc"):
            return False
        if text[end - 1] == COENG:
            return False
    return True


def channel_matcher(
    phrases: Mapping[str, str] | tuple[tuple[str, str], ...],
) -> Callable[[str], str | None]:
    """A function text -> the channel (by CHANNEL_PRIORITY) of the phrases the text
    contains as whole words, or None."""
    items = list(phrases.items()) if isinstance(phrases, Mapping) else list(phrases)
    named = {channel for _, channel in items}
    order = [c for c in CHANNEL_PRIORITY if c in named]
    order += sorted(named - set(order))
    latin: dict[str, list[str]] = {}
    script: dict[str, list[str]] = {}
    for phrase, channel in items:
        if phrase.isascii():
            latin.setdefault(channel, []).append(_latin_pattern(phrase))
        else:
            script.setdefault(channel, []).append(phrase)
    compiled = {
        channel: re.compile("|".join(patterns)) for channel, patterns in latin.items()
    }

    def found_in_script(text: str, channel: str) -> bool:
        for phrase in script.get(channel, ()):
            start = text.find(phrase)
            while start != -1:
                if _cluster_edge(text, start, start + len(phrase)):
                    return True
                start = text.find(phrase, start + 1)
        return False

    def match(text: str) -> str | None:
        if not text:
            return None
        lowered = text.lower()
        ascii_only = lowered.isascii()
        for channel in order:
            pattern = compiled.get(channel)
            if pattern is not None and pattern.search(lowered):
                return channel
            if not ascii_only and found_in_script(text, channel):
                return channel
        return None

    return match
