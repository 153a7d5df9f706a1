"""Where apps above payments plug in: they register here in their
`AppConfig.ready`, so payments never imports them (the stack runs core →
merchants → payments → statements → …).

- `bakong_transaction_recorded`: called inside the settling transaction each time
  a Bakong transaction is recorded (or applied again), with the row. statements
  turns it into the movement's one ledger line.
- inbound event handlers: a provider's webhook event type that another app
  applies (statements applies a bank's `transaction.posted` push).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from merchants.models import Connection
    from payments.models import BakongTransaction

BakongTransactionListener = Callable[..., Any]
InboundEventHandler = Callable[..., str]

_recorded_listeners: list[BakongTransactionListener] = []
_inbound_handlers: dict[str, InboundEventHandler] = {}


def bakong_transaction_recorded_connect(listener: BakongTransactionListener) -> None:
    """Call `listener(bakong_transaction=…)` for every recorded transaction (once,
    however often `ready` runs)."""
    if listener not in _recorded_listeners:
        _recorded_listeners.append(listener)


def bakong_transaction_recorded_send(*, bakong_transaction: BakongTransaction) -> None:
    """Tell every listener; a listener's error rolls the settlement back with it."""
    for listener in list(_recorded_listeners):
        listener(bakong_transaction=bakong_transaction)


def inbound_event_handler_register(
    event_type: str, handler: InboundEventHandler
) -> None:
    """`handler(connection=…, payload=…)` applies events of this type and answers
    what it did in one line."""
    _inbound_handlers[event_type] = handler


def inbound_event_apply(
    *, event_type: str, connection: Connection, payload: dict[str, Any]
) -> str | None:
    """What the registered handler did, or None when no app handles this type."""
    handler = _inbound_handlers.get(event_type)
    if handler is None:
        return None
    return handler(connection=connection, payload=payload)
