from django import template

from statements.balance_words import balance_warning_words

register = template.Library()


@register.filter
def balance_words(message) -> str:
    """A balance warning in the reader's language (see statements.balance_words)."""
    return balance_warning_words(message)
