"""The in-process bus: the default for SQLite and tests.

It reaches only subscribers in the same process; other processes sharing a
SQLite file see changes through :class:`~.watcher.Watcher` polling. Handlers run
on each subscription's thread, so ``publish`` returns at once.
"""

from __future__ import annotations

from .bus import Event, Handler
from .fanout import Fanout, QueueSubscription


class MemoryBus:
    def __init__(self) -> None:
        self._fanout = Fanout()
        self._closed = False

    def publish(self, event: Event) -> None:
        if self._closed:
            raise RuntimeError("event bus is closed")
        self._fanout.deliver(event)

    def subscribe(self, handler: Handler) -> QueueSubscription:
        if self._closed:
            raise RuntimeError("event bus is closed")
        return self._fanout.add(handler)

    def close(self) -> None:
        self._closed = True
        self._fanout.close()

    def __enter__(self) -> MemoryBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
