from django import template

from core.error_words import error_words as words

register = template.Library()


@register.filter
def error_words(message) -> str:
    """A service message stored or raised in English, in the reader's language
    (see core.error_words)."""
    return words(message)
