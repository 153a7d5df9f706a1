from django import template

from reconciliation.reason_words import reason_words as words

register = template.Library()


@register.filter
def reason_words(text) -> str:
    """An engine reason or detail in the reader's language (see
    reconciliation.reason_words)."""
    return words(text)
