from django import template

from statements.import_words import import_message_words
from statements.models import Channel

register = template.Library()


@register.filter
def import_words(message) -> str:
    """An import message in the reader's language (see statements.import_words)."""
    return import_message_words(message)


@register.filter
def channel_words(code) -> str:
    """A ledger channel code (TRANSFER, BILL) in words."""
    return str(dict(Channel.choices).get(str(code or ""), code or ""))
