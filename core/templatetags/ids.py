from django import template

register = template.Library()

_WHOLE_UP_TO = 20  # a bank's transfer id or an invoice number reads whole
_HEAD = 8  # as Bakong prints a short hash


@register.filter
def short_id(value) -> str:
    """A long unbroken id (a 64-character Bakong hash as a bank line's id) as
    its first characters and an ellipsis: whole, it cannot wrap and pushes a
    table past the page. Shorter ids, and anything with a space, stay whole;
    the page keeps the whole id in the link's title."""
    text = str(value)
    if len(text) <= _WHOLE_UP_TO or any(ch.isspace() for ch in text):
        return text
    return f"{text[:_HEAD]}…"
