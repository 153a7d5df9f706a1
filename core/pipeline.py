"""Overlap CPU work in Python with I/O to the database.

A statement import parses in Python while PostgreSQL writes what was parsed before;
on two cores the two run side by side. The producer runs on a worker thread and must
not touch the database (the thread has no connection of its own).
"""

from __future__ import annotations

import decimal
import gc
import itertools
import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


@contextmanager
def chunks_in_background(
    items: Iterable[T], *, size: int, first: int | None = None, depth: int = 2
) -> Iterator[Iterator[list[T]]]:
    """Iterate `items` on a worker thread and hand them over as lists of `size`
    (the first of `first`, so the consumer can start early; at most `depth` lists
    waiting). An exception in the producer is raised in the consumer; leaving the
    block early stops the producer."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    context = decimal.getcontext().copy()  # a new thread starts with the default

    def put(item: object) -> None:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def produce() -> None:
        decimal.setcontext(context)
        try:
            source = iter(items)
            take = first or size
            while not stop.is_set():
                chunk = list(itertools.islice(source, take))
                take = size
                if not chunk:
                    break
                put(chunk)
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(_Failed(exc))

    def consume() -> Iterator[list[T]]:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item

    worker = threading.Thread(target=produce, name="tonle-chunks", daemon=True)
    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        worker.join()


@contextmanager
def chunks_inline(
    items: Iterable[T], *, size: int, first: int | None = None
) -> Iterator[Iterator[list[T]]]:
    """chunks_in_background's interface, on the calling thread (for a consumer whose
    I/O would only fight the producer for the GIL, like SQLite's)."""

    def chunks() -> Iterator[list[T]]:
        source = iter(items)
        take = first or size
        while chunk := list(itertools.islice(source, take)):
            yield chunk
            take = size

    yield chunks()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection for the block: building a few hundred thousand
    small lists and tuples otherwise sets off full collections over a growing heap
    (a third of an import's Python time). Reference counting still frees memory.

    Resumed, the collector would walk what the block made and kept once more:
    all of it sits in the youngest generation, far past its threshold (a
    reconciliation engine run: 0.5 s of 3.9 s at 300,000 rows, collecting
    nothing). So it moves to the oldest generation first, as if it had survived
    the young collections; a full collection still looks at it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()  # every tracked object out of the generations...
            gc.unfreeze()  # ...and back, into the oldest
            gc.enable()
