"""Statement pages' stored English (balance warnings, import messages) and codes
(ledger channels) in the reader's language."""

from django import template

from statements.balance_words import balance_warning_words
from statements.import_words import import_message_words
from statements.models import Channel

register = template.Library()


@register.filter
def balance_words(message) -> str:
    """A balance warning in the reader's language (see statements.balance_words)."""
    return balance_warning_words(message)


@register.filter
def import_words(message) -> str:
    """An import message in the reader's language (see statements.import_words)."""
    return import_message_words(message)


@register.filter
def channel_words(code) -> str:
    """A ledger channel code (TRANSFER, BILL) in words."""
    return str(dict(Channel.choices).get(str(code or ""), code or ""))
