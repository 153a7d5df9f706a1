"""kombu's filesystem broker (the embedded default) that outlives its folders.

kombu's own transport lists the queue folder on every poll and dies with
FileNotFoundError if the folder is gone (a `make clean`, a tidy-up of var/): the
embedded worker then stops for good and the web process fails every send. This
one recreates a missing folder (and the bindings file that was in it) and carries
on; messages that were in it are lost, which the sweepers already cover (DESIGN: a
lost message delays work, never loses it).
"""

from __future__ import annotations

import logging
import os
from queue import Empty

from kombu.transport import filesystem

logger = logging.getLogger("tonle.tasks")


def _recreate(folder: str | os.PathLike) -> None:
    os.makedirs(folder, exist_ok=True)
    logger.warning("tasks.broker_folder_recreated", extra={"folder": str(folder)})


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        if not os.path.isdir(self.data_folder_out):
            _recreate(self.data_folder_out)
        return super()._put(queue, payload, **kwargs)

    def _get(self, queue):
        if self.store_processed and not os.path.isdir(self.processed_folder):
            _recreate(self.processed_folder)
        try:
            return super()._get(queue)
        except FileNotFoundError:  # the queue folder itself is gone
            _recreate(self.data_folder_in)
            raise Empty() from None

    def _purge(self, queue):
        try:
            return super()._purge(queue)
        except FileNotFoundError:
            _recreate(self.data_folder_in)
            return 0

    def _size(self, queue):
        try:
            return super()._size(queue)
        except FileNotFoundError:
            _recreate(self.data_folder_in)
            return 0

    def get_table(self, exchange):
        table = super().get_table(exchange)
        if table:
            return table
        # the bindings' file went with the folder: this process still knows the
        # bindings it declared, so messages keep their queue, and the file is
        # written again for the other processes
        remembered = self.state.exchanges.get(exchange, {}).get("table") or []
        for binding in remembered:
            self._queue_bind(exchange, *binding)
        return [filesystem.exchange_queue_t(*binding) for binding in remembered]

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        # kombu makes the control folder without its parents
        self.control_folder.mkdir(parents=True, exist_ok=True)
        return super()._queue_bind(exchange, routing_key, pattern, queue)


class Transport(filesystem.Transport):
    Channel = Channel
