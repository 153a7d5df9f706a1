from django import template

from statements.import_words import import_message_words

register = template.Library()


@register.filter
def import_words(message) -> str:
    """An import message in the reader's language (see statements.import_words)."""
    return import_message_words(message)
