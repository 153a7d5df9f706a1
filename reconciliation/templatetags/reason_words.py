import re

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from merchants.audit_actions import action_words as _action_words
from merchants.audit_actions import detail_label
from reconciliation.models import MatchStatus
from reconciliation.reason_words import reason_words as words
from reconciliation.rule_words import rule_words as _rule_words
from reconciliation.rule_words import trigger_words as _trigger_words

register = template.Library()


@register.filter
def reason_words(text) -> str:
    """An engine reason or detail in the reader's language (see
    reconciliation.reason_words)."""
    return words(text)


@register.filter
def rule_words(code) -> str:
    """A rule code (reference.fee) in words for people."""
    return _rule_words(code)


@register.filter
def trigger_words(code) -> str:
    """Who started a run, when no person did, in words."""
    return _trigger_words(code)


@register.filter
def action_words(code) -> str:
    """An audit action code (reconciliation.match.confirmed) as a sentence."""
    return _action_words(code)


@register.filter
def count_words(name) -> str:
    """A run's count name (tier_2, auto, exception_unmatched_line) in words."""
    return detail_label(name)


_PAIR = re.compile(r"tier (?P<tier>\d+) (?P<rule>\S+) \((?P<status>\w+)\)\Z")


@register.filter
def pair_words(text) -> str:
    """A dry run's "tier 3 reference.fee (proposed)" in words; "" is not matched."""
    found = _PAIR.match(str(text or ""))
    if not text:
        return _("not matched")
    if not found:
        return str(text)
    status = dict(MatchStatus.choices).get(found["status"], found["status"])
    return _("Tier %(tier)s · %(rule)s (%(status)s)") % {
        "tier": found["tier"],
        "rule": _rule_words(found["rule"]),
        "status": str(status).lower(),
    }


_GONE = {
    "inv": gettext_lazy("Invoice #%(pk)s, no longer here"),
    "pr": gettext_lazy("KHQR code #%(pk)s, no longer here"),
    "rf": gettext_lazy("Refund #%(pk)s, no longer here"),
    "ln": gettext_lazy("Ledger line #%(pk)s, no longer here"),
    "bk": gettext_lazy("Bakong payment #%(pk)s, no longer here"),
    "ps": gettext_lazy("Bakong payment #%(pk)s, no longer here"),
}


@register.filter
def gone_words(engine_id) -> str:
    """An engine id (inv:12) whose record is gone since the run, in words: the
    person never sees the engine's own ids."""
    prefix, _sep, pk = str(engine_id or "").partition(":")
    words = _GONE.get(prefix)
    if words is None or not pk.isdigit():
        return _("a record no longer here")
    return str(words) % {"pk": pk}
