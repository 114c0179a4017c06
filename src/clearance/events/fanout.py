"""Hand events to subscribers, each on its own thread.

Every adapter receives events somewhere (the publisher's call, a socket
listener) and must not run handlers there: a slow snapshot rebuild would
otherwise stall a writer or the socket. Each subscription gets a queue and a
daemon thread, so one slow subscriber does not delay another either. Queues
are bounded; on overflow the *oldest* event is dropped, because events are
hints and the newest ``seq`` is the one that matters.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading

from .bus import Event, Handler

log = logging.getLogger(__name__)
_STOP = object()
_ids = itertools.count(1)


class QueueSubscription:
    """A handler with its own queue and delivery thread."""

    def __init__(self, handler: Handler, owner: Fanout, maxsize: int = 10_000, join_timeout: float = 5.0) -> None:
        self._handler = handler
        self._owner = owner
        self._queue: queue.Queue[object] = queue.Queue(maxsize=maxsize)
        self._closed = threading.Event()
        self._join_timeout = join_timeout
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name=f"clearance-events-{next(_ids)}", daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def put(self, item: object) -> None:
        while not self._closed.is_set():
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP or self._closed.is_set():
                return
            try:
                self._handler(item)  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001 - a failing handler must not kill delivery
                log.exception("event handler failed")

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._owner.remove(self)
        with contextlib.suppress(queue.Full):  # if full, the thread sees the closed flag at its next item
            self._queue.put_nowait(_STOP)
        if threading.current_thread() is not self._thread:
            self._thread.join(self._join_timeout)


class Fanout:
    """The set of live subscriptions of one bus."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[QueueSubscription] = []

    def add(self, handler: Handler) -> QueueSubscription:
        sub = QueueSubscription(handler, self)
        with self._lock:
            self._subs.append(sub)
        return sub

    def remove(self, sub: QueueSubscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def __len__(self) -> int:
        with self._lock:
            return len(self._subs)

    def deliver(self, event: Event) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.put(event)

    def deliver_payload(self, payload: str | bytes) -> None:
        """Decode a payload from the wire and deliver it; a malformed one is logged and skipped."""
        try:
            event = Event.from_json(payload)
        except ValueError as exc:
            log.warning("ignoring malformed change event: %s", exc)
            return
        self.deliver(event)

    def close(self) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.close()
