from decimal import Decimal

from django import template

from core.money import format_amount, format_number
from core.periods import zone_for_currency

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """{{ line.amount|money:line.currency }} -> '1,234,500 KHR'."""
    return format_amount(amount, currency)


@register.filter
def amount(value: Decimal | None, currency: str) -> str:
    """The number alone in the currency's places, for table columns."""
    return format_number(value, currency)


@register.filter
def local_time(instant, currency: str = "KHR"):
    """An instant in the account's zone (Bangkok for THB, else Phnom Penh)."""
    if instant is None:
        return None
    return instant.astimezone(zone_for_currency(currency))
