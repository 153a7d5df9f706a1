"""The engine's reasons and exception details in the reader's language.

The engine (reconciliation.engine) is Django-free and writes its sentences in
English once; they are stored with each match and exception and returned by the
API as written. A page words them again here, at display time: each known shape
is read back into its values (names, amounts, days stay as written) and the
sentence around them is translated. A "; "-joined list is worded part by part;
a sentence of no known shape is shown as written."""

from __future__ import annotations

import re

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

# the engine's own words inside its sentences (engine.tiers_exact)
TOKEN_WORDS = {
    "KHQR md5": _("KHQR md5"),
    "Bakong hash": _("Bakong hash"),
    "Bakong short hash, amount and currency": _(
        "Bakong short hash, amount and currency"
    ),
    "bank trace": _("bank trace"),
}
RELATION_WORDS = {
    "a payer accountants confirmed as this customer": _(
        "a payer accountants confirmed as this customer"
    ),
    "the customer's own account": _("the customer's own account"),
    "the customer's name": _("the customer's name"),
    "an account that paid this customer's other items": _(
        "an account that paid this customer's other items"
    ),
    "a reference one slip away from the item's": _(
        "a reference one slip away from the item's"
    ),
}
# what a why-not names when the run's own match number meant nothing to a person
# (reconciliation.services.evidence.why_text)
NAME_WORDS = {"another match": _("another match")}
# the engine's names for things with no number of their own: "order ORD-7",
# "refund RF-2", "code 12", or an engine id ("ln:214") for an unlabelled line
NAME_PREFIX_WORDS = {
    "order": _("order %(ref)s"),
    "refund": _("refund %(ref)s"),
    "code": _("code %(ref)s"),
    "ln": _("ledger line #%(ref)s"),
    "bk": _("Bakong payment #%(ref)s"),
    "ps": _("Bakong payment #%(ref)s"),
}
_NAMED = re.compile(
    r"\b(?:(?P<word>order|refund|code) (?P<ref>[^\s,;]+)"
    r"|(?P<prefix>ln|bk|ps):(?P<pk>\d+)\b)"
)
_NAME_KEYS = ("name", "names", "line", "parent")


def _named(value: str) -> str:
    """A name the engine wrote, its English word (or engine id) in words."""

    def one(found: re.Match) -> str:
        kind = found["word"] or found["prefix"]
        ref = found["ref"] or found["pk"]
        return str(NAME_PREFIX_WORDS[kind]) % {"ref": ref}

    return _NAMED.sub(one, str(value))


_ANY = r"(?P<{}>.+?)"

SHAPES = [
    # match reasons
    (
        r"The same (?P<words>.+?) on both sides; amount and currency equal\.",
        _("The same %(words)s on both sides; amount and currency equal."),
    ),
    (
        r"The same (?P<words>.+?) on both sides, but (?P<amount>.+?) less than asked\.",
        _("The same %(words)s on both sides, but %(amount)s less than asked."),
    ),
    (
        r"The same (?P<words>.+?) on both sides, but (?P<amount>.+?) more than asked\.",
        _("The same %(words)s on both sides, but %(amount)s more than asked."),
    ),
    (
        r"Reference (?P<name>.+?) is in the line's text; amount and currency equal\. "
        r"It falls outside the item's date window\.",
        _(
            "Reference %(name)s is in the line's text; amount and currency equal. "
            "It falls outside the item's date window."
        ),
    ),
    (
        r"Reference (?P<name>.+?) is in the line's text; amount and currency equal\.",
        _("Reference %(name)s is in the line's text; amount and currency equal."),
    ),
    (
        r"Reference (?P<name>.+?) is in the line's text; the line is (?P<amount>.+?) "
        r"short, within the tolerance of (?P<tolerance>.+?) \(a bank fee\)\.",
        _(
            "Reference %(name)s is in the line's text; the line is %(amount)s short, "
            "within the tolerance of %(tolerance)s (a bank fee)."
        ),
    ),
    (
        r"Reference (?P<name>.+?) is in the line's text; the line is (?P<amount>.+?) "
        r"over, within the tolerance of (?P<tolerance>.+?)\.",
        _(
            "Reference %(name)s is in the line's text; the line is %(amount)s over, "
            "within the tolerance of %(tolerance)s."
        ),
    ),
    (
        r"Reference (?P<name>.+?) is in the line's text, but it pays (?P<amount>.+?) "
        r"more than asked\.",
        _(
            "Reference %(name)s is in the line's text, but it pays %(amount)s more "
            "than asked."
        ),
    ),
    (
        r"Same amount and currency \((?P<amount>.+?)\), paid inside (?P<name>.+?)'s "
        r"window, from (?P<who>.+?)\.",
        _(
            "Same amount and currency (%(amount)s), paid inside %(name)s's window, "
            "from %(who)s."
        ),
    ),
    (
        r"One payment from the customer adds up exactly to (?P<names>.+?)\.",
        _("One payment from the customer adds up exactly to %(names)s."),
    ),
    (
        r"(?P<n>\d+) payments from the customer add up exactly to (?P<name>.+?)\.",
        _("%(n)s payments from the customer add up exactly to %(name)s."),
    ),
    (
        r"(?P<n>\d+) payments name (?P<name>.+?) and add up to (?P<paid>.+?) for "
        r"(?P<asked>.+?) asked\.",
        _("%(n)s payments name %(name)s and add up to %(paid)s for %(asked)s asked."),
    ),
    (
        r"(?P<n>\d+) payments? naming (?P<name>.+?) add up to (?P<paid>.+?); "
        r"(?P<owed>.+?) is still owed\.",
        _(
            "%(n)s payment(s) naming %(name)s add up to %(paid)s; %(owed)s is "
            "still owed."
        ),
    ),
    (
        r"One payment of (?P<amount>.+?) names (?P<names>.+?), and their sum "
        r"equals it\.",
        _("One payment of %(amount)s names %(names)s, and their sum equals it."),
    ),
    (
        r"One payment of (?P<amount>.+?) names (?P<names>.+?), and their sum is "
        r"within the fee tolerance\.",
        _(
            "One payment of %(amount)s names %(names)s, and their sum is within "
            "the fee tolerance."
        ),
    ),
    (
        r"(?P<n>\d+) lines name (?P<name>.+?) with its full amount; the first one "
        r"pays it, the others are duplicate payments\.",
        _(
            "%(n)s lines name %(name)s with its full amount; the first one pays "
            "it, the others are duplicate payments."
        ),
    ),
    (
        r"The same (?P<words>.+?) on both sides, but paid in (?P<paid>[A-Z]{3}) "
        r"\((?P<amount>.+?)\) for an item in (?P<asked>[A-Z]{3})\.",
        _(
            "The same %(words)s on both sides, but paid in %(paid)s (%(amount)s) "
            "for an item in %(asked)s."
        ),
    ),
    # tier 6: a line in another currency, converted
    (
        r"(?P<paid>.+?) is a cross-border payment whose original amount is "
        r"(?P<target>.+?), within (?P<band>\S+)% of (?P<name>.+?)'s "
        r"(?P<asked>.+?)\.",
        _(
            "%(paid)s is a cross-border payment whose original amount is "
            "%(target)s, within %(band)s%% of %(name)s's %(asked)s."
        ),
    ),
    (
        r"(?P<paid>.+?) at the rate of (?P<day>\S+) \((?P<rate>\S+) "
        r"(?P<quote>[A-Z]{3}) per (?P<base>[A-Z]{3})\) is (?P<target>.+?), within "
        r"(?P<band>\S+)% of (?P<name>.+?)'s (?P<asked>.+?)\.",
        _(
            "%(paid)s at the rate of %(day)s (%(rate)s %(quote)s per %(base)s) is "
            "%(target)s, within %(band)s%% of %(name)s's %(asked)s."
        ),
    ),
    (
        r"suggestion: same amount and currency inside the window, from a known "
        r"payer; another candidate fits as well, so a person decides",
        _(
            "suggestion: same amount and currency inside the window, from a known "
            "payer; another candidate fits as well, so a person decides"
        ),
    ),
    (
        r"suggestion: same amount and currency inside the window, from a payer "
        r"not known to be the customer; another candidate fits as well, so a "
        r"person decides",
        _(
            "suggestion: same amount and currency inside the window, from a payer "
            "not known to be the customer; another candidate fits as well, so a "
            "person decides"
        ),
    ),
    # exception details
    (
        r"(?P<line>.+?) pays (?P<name>.+?) a second time",
        _("%(line)s pays %(name)s a second time"),
    ),
    (
        r"(?P<line>.+?) pays (?P<name>.+?) again: the same (?P<words>.+?) as an "
        r"earlier payment",
        _("%(line)s pays %(name)s again: the same %(words)s as an earlier payment"),
    ),
    (
        r"(?P<line>.+?): the bank's original amount × rate does not give the "
        r"amount and fee, beyond rounding",
        _(
            "%(line)s: the bank's original amount × rate does not give the amount "
            "and fee, beyond rounding"
        ),
    ),
    (
        r"(?P<name>.+?) gives back (?P<parent>.+?), whose payment was not found",
        _("%(name)s gives back %(parent)s, whose payment was not found"),
    ),
    (
        r"(?P<name>.+?): (?P<paid>.+?) of (?P<asked>.+?) received",
        _("%(name)s: %(paid)s of %(asked)s received"),
    ),
    (
        r"(?P<name>.+?): no expected item explains (?P<amount>.+?)",
        _("%(name)s: no expected item explains %(amount)s"),
    ),
    (
        r"(?P<name>.+?) was due by (?P<day>\S+) and is not in the ledger",
        _("%(name)s was due by %(day)s and is not in the ledger"),
    ),
    (
        r"(?P<name>.+?) should have left by (?P<day>\S+) and is not in the ledger",
        _("%(name)s should have left by %(day)s and is not in the ledger"),
    ),
    (
        r"(?P<name>.+?) asked (?P<asked>.+?); (?P<arrived>.+?) arrived",
        _("%(name)s asked %(asked)s; %(arrived)s arrived"),
    ),
    (
        r"(?P<name>.+?) was paid after the code expired",
        _("%(name)s was paid after the code expired"),
    ),
    # why an item did not match (one part of a "; " list)
    (r"rejected by an accountant", _("rejected by an accountant")),
    (r"reference not found in the line", _("reference not found in the line")),
    (
        r"currency differs \((?P<paid>\w+), not (?P<asked>\w+)\)",
        _("currency differs (%(paid)s, not %(asked)s)"),
    ),
    (r"amount over by (?P<amount>.+?)", _("amount over by %(amount)s")),
    (r"amount short by (?P<amount>.+?)", _("amount short by %(amount)s")),
    (
        r"(?P<day>\S+) is outside the window (?P<low>\S+) to (?P<high>\S+)",
        _("%(day)s is outside the window %(low)s to %(high)s"),
    ),
    (r"already matched with (?P<names>[^;]+?)", _("already matched with %(names)s")),
    (r"a repeat payment of (?P<name>[^;]+?)", _("a repeat payment of %(name)s")),
    (
        r"the item is already matched with (?P<names>[^;]+?)",
        _("the item is already matched with %(names)s"),
    ),
]
_COMPILED = [(re.compile(shape + r"\Z", re.S), words) for shape, words in SHAPES]
_ISSUED = re.compile(
    r"(?P<head>.+?) KHQR code (?P<code>.+?) was issued for (?P<item>.+?)\.\Z"
)


def _sentence(text: str) -> str | None:
    for shape, words in _COMPILED:
        found = shape.match(text)
        if found:
            parts = found.groupdict()
            if "words" in parts:
                parts["words"] = TOKEN_WORDS.get(parts["words"], parts["words"])
            for key in _NAME_KEYS:
                if key in parts:
                    parts[key] = _named(NAME_WORDS.get(parts[key], parts[key]))
            if "who" in parts:
                parts["who"] = RELATION_WORDS.get(parts["who"], parts["who"])
            return str(words) % parts
    issued = _ISSUED.match(text)
    if issued:
        head = _sentence(issued["head"]) or issued["head"]
        return f"{head} " + str(_("KHQR code %(code)s was issued for %(item)s.")) % {
            "code": _named(issued["code"]),
            "item": issued["item"],
        }
    return None


def reason_words(text: str) -> str:
    """An engine sentence (or a "; " list of them) in the active language."""
    text = str(text or "")
    if (get_language() or "en").startswith("en"):
        return text  # the engine's own words: nothing to read back
    parts = text.split("; ")
    # a list of reasons is read part by part when every part has a shape, so a
    # loose shape ("amount over by …") does not swallow the reasons after it
    worded = [_sentence(part) for part in parts]
    if len(parts) > 1 and all(worded):
        return "; ".join(worded)
    whole = _sentence(text)
    if whole is not None:
        return whole
    return "; ".join(w or part for w, part in zip(worded, parts, strict=True))
