"""A service's error in the reader's language, on pages only.

Services raise TonleError with one English message: the REST API and the commands
return it as written (machines read it). A page words it again here, at display
time. A fixed sentence is marked with gettext_noop where it is raised, so it is in
the catalogue whole; a sentence with values (a month, an amount, a count) is read
back by its shape, and only the words around the values are translated. The
field prefix the API keeps ("ids: …", "bank_reference: …") is dropped on a page,
where the message sits beside its form. An unknown message is shown as written."""

from __future__ import annotations

import re

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

_FIELD = re.compile(r"(?P<field>[a-z][a-z0-9_]*): (?P<rest>.+)\Z", re.S)

# sentences with values that a person meets on a page (the field prefix, when the
# service writes one, is already dropped)
SHAPES = [
    # months and runs
    (r"(?P<month>.+?) is already signed off", _("%(month)s is already signed off")),
    (r"(?P<month>.+?) is not signed off", _("%(month)s is not signed off")),
    (r"(?P<month>.+?) was reopened meanwhile", _("%(month)s was reopened meanwhile")),
    (
        r"(?P<month>.+?) was signed off meanwhile",
        _("%(month)s was signed off meanwhile"),
    ),
    (r"(?P<month>.+?) has not ended yet", _("%(month)s has not ended yet")),
    (
        r"(?P<month>.+?) has (?P<count>\d+) open exceptions?: resolve them, or carry "
        r"them forward",
        _(
            "%(month)s has %(count)s open exception(s): resolve them, or carry them "
            "forward"
        ),
    ),
    (
        r"(?P<month>.+?) is signed off, so its matches are locked; an owner reopens "
        r"the month first",
        _(
            "%(month)s is signed off, so its matches are locked; an owner reopens "
            "the month first"
        ),
    ),
    (
        r"(?P<to>\S+) is before from: (?P<from>\S+)",
        _("The period ends (%(to)s) before it starts (%(from)s)."),
    ),
    (
        r"the period ends \((?P<to>\S+)\) before it starts \((?P<from>\S+)\)",
        _("The period ends (%(to)s) before it starts (%(from)s)."),
    ),
    (
        r"at most (?P<days>\d+) days at a time",
        _("A period covers at most %(days)s days."),
    ),
    # the review queue, hand matches and exceptions
    (r"at most (?P<count>\d+) at a time", _("At most %(count)s at a time.")),
    (
        r"more than (?P<count>\d+) matches; narrow it",
        _("More than %(count)s matches: narrow the filter."),
    ),
    (
        r"more than (?P<count>\d+) exceptions; narrow it",
        _("More than %(count)s exceptions: narrow the filter."),
    ),
    (
        r"match (?P<pk>\d+) is confirmed: unmatch it to take it apart",
        _("Match #%(pk)s is confirmed: undo it to take it apart."),
    ),
    (
        r"match (?P<pk>\d+) \((?P<status>\w+)\) already holds one of these rows: "
        r"unmatch it first",
        _("Match #%(pk)s already holds one of these rows: undo it first."),
    ),
    (
        r"the rows are in (?P<currencies>.+?); a hand match is in one currency",
        _("The rows are in %(currencies)s; a hand match is in one currency."),
    ),
    (
        r"exception (?P<pk>\d+) was resolved meanwhile",
        _("Exception #%(pk)s was resolved meanwhile."),
    ),
    # KHQR codes, refunds and flags
    (
        r"only a pending code can be cancelled \(this one is (?P<status>.+?)\)",
        _("Only a pending code can be cancelled (this one is %(status)s)."),
    ),
    (
        r"only a paid request can be refunded \(this one is (?P<status>.+?)\)",
        _("Only a paid code can be refunded (this one is %(status)s)."),
    ),
    (
        r"(?P<amount>\S+) (?P<currency>[A-Z]{3}) is more than the (?P<left>\S+) "
        r"[A-Z]{3} not yet refunded",
        _(
            "%(amount)s %(currency)s is more than the %(left)s %(currency)s not yet "
            "refunded."
        ),
    ),
    (
        r"(?P<reference>.+?) is already recorded for a refund",
        _("%(reference)s is already recorded for a refund."),
    ),
    (
        r"this flag is already settled \((?P<how>.+?)\)",
        _("This flag is already settled (%(how)s)."),
    ),
    (
        r"'?(?P<currency>[^']*)'? is not a KHQR currency; use KHR or USD",
        _("%(currency)s is not a KHQR currency: use KHR or USD."),
    ),
    (
        r"at most (?P<limit>\d+) characters \(got (?P<got>\d+)\)",
        _("At most %(limit)s characters (this has %(got)s)."),
    ),
    (r"at most (?P<limit>\d+) characters", _("At most %(limit)s characters.")),
    # a look-up that found nothing (a record gone, or another merchant's id)
    (
        r"(?P<kind>khqr|invoice|refund|line|bakong|payment|match|exception) "
        r"(?P<pk>\d+):? not found",
        _("%(kind)s #%(pk)s was not found."),
    ),
    # API keys and connections being set up
    (
        r"(?P<value>.+?) is not one of (?P<choices>.+)",
        _("%(value)s is not one of %(choices)s."),
    ),
    (
        r"merchant has no connection #(?P<pk>\d+)",
        _("There is no connection #%(pk)s."),
    ),
    (r"connection (?P<pk>\d+) does not exist", _("There is no connection #%(pk)s.")),
    (
        r"#(?P<pk>\d+) was revoked; connect the account anew",
        _("Connection #%(pk)s was revoked: connect the account anew."),
    ),
    (
        r"#(?P<pk>\d+) is a (?P<provider>\S+) connection, not a statement feed",
        _("Connection #%(pk)s is a %(provider)s connection, not a statement feed."),
    ),
    (r"#(?P<pk>\d+) has no account", _("Connection #%(pk)s has no account.")),
    # a statement feed's answers while a connection is set up and synced (the
    # "feed: " prefix is dropped like a field)
    (
        r"no client_id/client_secret in the connection's credentials",
        _("The connection's credentials have no client_id/client_secret."),
    ),
    (
        r"the token endpoint refused the credentials \((?P<status>\d+)\)",
        _("The bank's feed refused the credentials (%(status)s)."),
    ),
    (
        r"a fresh token was refused too \((?P<status>\d+)\)",
        _("The bank's feed refused a fresh token too (%(status)s)."),
    ),
    (
        r"token endpoint answered (?P<status>\d+)",
        _("The bank's feed answered %(status)s when asked for a token."),
    ),
    (
        r"(?P<what>statement|balance) answered (?P<status>\d+): (?P<body>.*)",
        _("The bank's feed answered %(status)s: %(body)s"),
    ),
    (
        r"answered (?P<status>\d+) with a body that is not JSON",
        _("The bank's feed answered %(status)s with a body that is not JSON."),
    ),
    # a feed's line or answer that could not be read (the value as the bank sent it)
    (
        r"(?P<name>[a-z_]+) (?P<value>.+) is not a date",
        _("%(name)s %(value)s is not a date."),
    ),
    (
        r"(?P<name>[a-z_]+) (?P<value>.+) is not a number",
        _("%(name)s %(value)s is not a number."),
    ),
    (
        r"(?P<name>[a-z_]+) (?P<value>.+) is not ISO 8601",
        _("%(name)s %(value)s is not a date and time (ISO 8601)."),
    ),
    (
        r"(?P<name>[a-z_]+) (?P<value>.+) has no UTC offset",
        _("%(name)s %(value)s has no UTC offset."),
    ),
    (
        r"(?P<name>[a-z_]+) (?P<value>.+) is out of range",
        _("%(name)s %(value)s is out of range."),
    ),
    (
        r"(?P<ccy>[A-Z]{3}) line in a (?P<currency>[A-Z]{3}) account",
        _("A %(ccy)s line in a %(currency)s account."),
    ),
    (
        r"the bank reports (?P<ccy>\S+) for a (?P<currency>\S+) account",
        _("The bank reports %(ccy)s for a %(currency)s account."),
    ),
    (
        r"the bank's (?P<name>opening|closing) balance (?P<value>.+) is out of range",
        _("The bank's %(name)s balance %(value)s is out of range."),
    ),
    (r"(?P<count>\d+) lines refused in all", _("%(count)s lines refused in all.")),
    (
        r"stopped after (?P<pages>\d+) pages; the window may be incomplete",
        _("Stopped after %(pages)s pages: the window may be incomplete."),
    ),
    (
        r"(?P<start>\S+)\.\.(?P<end>\S+): the bank reports closing (?P<closing>\S+) "
        r"(?P<currency>\S+) but opening (?P<opening>\S+) \+ the (?P<count>\d+) "
        r"lines = (?P<computed>\S+) \(difference (?P<difference>\S+)\)",
        _(
            "%(start)s..%(end)s: the bank reports a closing balance of %(closing)s "
            "%(currency)s, but the opening %(opening)s plus the %(count)s lines make "
            "%(computed)s (difference %(difference)s)."
        ),
    ),
    # connections: consent and statement feed syncs
    (
        r"consent for connection #(?P<pk>\d+) was revoked on (?P<day>.+)",
        _("Consent for connection #%(pk)s was revoked on %(day)s."),
    ),
    (
        r"consent for connection #(?P<pk>\d+) expired on (?P<day>.+?); the customer "
        r"must grant it again",
        _(
            "Consent for connection #%(pk)s expired on %(day)s: the customer must "
            "grant it again."
        ),
    ),
    (
        r"consent for connection #(?P<pk>\d+) does not include (?P<scope>\S+) "
        r"\(granted: (?P<granted>.+)\)",
        _(
            "Consent for connection #%(pk)s does not include %(scope)s (granted: "
            "%(granted)s)."
        ),
    ),
    (
        r"consent for connection #(?P<pk>\d+) ends on (?P<day>.+)",
        _("Consent for connection #%(pk)s ends on %(day)s."),
    ),
    (
        r"(?P<inserted>\d+) new line\(s\) of (?P<fetched>\d+) read over "
        r"(?P<windows>\d+) window\(s\)",
        _("%(inserted)s new line(s) of %(fetched)s read over %(windows)s window(s)"),
    ),
    # a statement pack's progress
    (
        r"(?P<account>.+): (?P<format>[A-Z]+) statement",
        _("%(account)s: %(format)s statement"),
    ),
    # imports and webhooks
    (
        r"required columns? missing: (?P<missing>.+?) \(the invoice CSV is "
        r"(?P<required>.+?), and optionally (?P<optional>.+)\)",
        _(
            "Required column(s) missing: %(missing)s (the invoice CSV is "
            "%(required)s, and optionally %(optional)s)."
        ),
    ),
    (r"over the (?P<mb>\d+) MB limit", _("The file is over the %(mb)s MB limit.")),
    (
        r"only a file waiting for its import can be discarded; this one is "
        r"(?P<status>.+)",
        _(
            "Only a file waiting for its import can be discarded; this one is "
            "%(status)s."
        ),
    ),
    (
        r"not a valid address \((?P<why>.+)\)",
        _("Not a valid address (%(why)s)."),
    ),
]
# the record kinds a look-up names, as a person calls them
KIND_WORDS = {
    "khqr": _("KHQR code"),
    "payment": _("KHQR code"),
    "invoice": _("Invoice"),
    "refund": _("Refund"),
    "line": _("Ledger line"),
    "bakong": _("Bakong payment"),
    "match": _("Match"),
    "exception": _("Exception"),
}
# a sentence that wraps another service message (worded in its turn)
WRAPPERS = {
    "not synced: ": _("Not synced: %(why)s"),
    "will retry: ": _("Will retry: %(why)s"),
    "gave up: ": _("Gave up: %(why)s"),
    "balances not read: ": _("Balances not read: %(why)s"),
}
# sentences that wrap another with the line (the bank's id) it was about
_ABOUT_A_LINE = [
    (
        re.compile(r"line (?P<txn>\S+) refused: (?P<why>.+)\Z", re.S),
        _("Line %(txn)s refused: %(why)s"),
    ),
    (
        re.compile(r"item (?P<txn>\S+) (?P<why>[a-z_]+ .+)\Z", re.S),
        _("Line %(txn)s: %(why)s"),
    ),
]
_COMPILED = [(re.compile(shape + r"\Z", re.S), words) for shape, words in SHAPES]


def _without_field(text: str) -> str:
    found = _FIELD.match(text)
    return found["rest"] if found else text


def error_words(error) -> str:
    """A TonleError (or its message) as a page shows it, in the active language.
    A sync's warnings are joined by "; ": each is worded on its own (a sentence
    with "; " inside it is tried whole first)."""
    text = str(getattr(error, "message", error) or "")
    worded = _one(text)
    if worded != text or "; " not in text:
        return worded
    parts, out, start = text.split("; "), [], 0
    while start < len(parts):
        for end in range(len(parts), start, -1):
            chunk = "; ".join(parts[start:end])
            words = _one(chunk)
            if words != chunk or end == start + 1:
                out.append(words)
                start = end
                break
    return "; ".join(out)


def _one(text: str) -> str:
    whole = gettext(text)
    if whole != text:
        return whole
    rest = _without_field(text)
    if rest != text:
        words = gettext(rest)
        if words != rest:
            return words
    for head, words in WRAPPERS.items():
        if rest.startswith(head):
            return str(words) % {"why": error_words(rest.removeprefix(head))}
    for shape, words in _ABOUT_A_LINE:
        found = shape.match(rest)
        if found:
            return str(words) % {"txn": found["txn"], "why": error_words(found["why"])}
    for shape, words in _COMPILED:
        found = shape.match(rest)
        if found:
            parts = found.groupdict()
            if "kind" in parts:
                parts["kind"] = str(KIND_WORDS.get(parts["kind"], parts["kind"]))
            return str(words) % parts
    return rest
