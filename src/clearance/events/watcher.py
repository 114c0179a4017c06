"""Keep one process's view current: events for speed, polling for certainty.

A :class:`Watcher` calls ``on_change(seq)`` whenever the store has moved past
the last ``seq`` it handled. Events from the bus wake it at once; every
``poll_interval`` seconds it also asks ``latest_seq()`` directly, so a dropped
NOTIFY, a Redis reconnect or a writer that never publishes (another process on
a SQLite file) delays a change by at most one interval instead of forever.

Bursts coalesce: ``on_change`` runs on the watcher's own thread, one call at a
time, and events that arrive meanwhile collapse into a single follow-up call
with the highest ``seq``. If ``on_change`` raises, the ``seq`` is not marked
seen, so the next event or poll retries it. If it returns an ``int`` (the seq
it actually rebuilt to, which may be newer), that becomes the seen mark, which
spares a second rebuild for events it already covered.

A store that stays unreachable is reported, not shouted: the first failure is logged with
its traceback, repeats at most one line per ``report_every_s`` (with how many there were),
and the recovery once; polls back off to at most one a second while it lasts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .bus import Event, EventBus, Subscription

log = logging.getLogger(__name__)


class Watcher:
    def __init__(
        self,
        bus: EventBus,
        latest_seq: Callable[[], int],
        on_change: Callable[[int], object],
        *,
        poll_interval: float = 1.0,
        since: int = 0,
        report_every_s: float = 30.0,
    ) -> None:
        """``since`` is the seq the caller's current state reflects; the first poll runs at start."""
        self._bus = bus
        self._latest_seq = latest_seq
        self._on_change = on_change
        self.poll_interval = poll_interval
        self.seen = since
        self._pending = since
        self._cond = threading.Condition()
        self._stopping = False
        self._sub: Subscription | None = None
        self._thread = threading.Thread(target=self._run, name="clearance-watcher", daemon=True)
        self.calls = 0
        self.failures = _Failures(report_every_s)

    @property
    def pending(self) -> int:
        """The highest seq known (from an event or a poll); ``pending > seen`` means a call is due or running."""
        with self._cond:
            return self._pending

    def start(self) -> Watcher:
        # Subscribe before the first poll: a change committed in between is then seen by one or the other.
        self._sub = self._bus.subscribe(self._on_event)
        self._thread.start()
        return self

    def _on_event(self, event: Event) -> None:
        with self._cond:
            if event.seq > self._pending:
                self._pending = event.seq
                self._cond.notify()

    def _poll(self) -> None:
        try:
            latest = self._latest_seq()
        except Exception as exc:  # noqa: BLE001 - the store may be briefly unreachable; try again next interval
            self.failures.failed("polling the registry's version", exc)
            return
        self.failures.succeeded("polling the registry's version")
        with self._cond:
            self._pending = max(self._pending, latest)

    def _run(self) -> None:
        next_poll = time.monotonic()
        while True:
            with self._cond:
                while not self._stopping and self._pending <= self.seen and time.monotonic() < next_poll:
                    self._cond.wait(max(0.0, next_poll - time.monotonic()))
                if self._stopping:
                    return
                target = self._pending
            if target <= self.seen:  # woken by the poll timer
                self._poll()
                # While the store fails, back off (doubling, at most 1 s) rather than hammer it.
                backoff = self.poll_interval * 2 ** min(self.failures.count, 16)
                next_poll = time.monotonic() + min(backoff, max(self.poll_interval, 1.0))
                continue
            self._call(target)

    def _call(self, target: int) -> None:
        self.calls += 1
        try:
            result = self._on_change(target)
        except Exception as exc:  # noqa: BLE001 - keep watching; the seq stays unseen and is retried
            self.failures.failed(f"applying registry change {target}", exc)
            with self._cond:
                self._cond.wait(min(self.poll_interval, 1.0))  # do not spin on a persistent failure
            return
        self.failures.succeeded(f"applying registry change {target}")
        reached = result if isinstance(result, int) and not isinstance(result, bool) else target
        with self._cond:
            self.seen = max(self.seen, reached, target)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching; waits up to ``timeout`` for a running ``on_change`` to return."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._sub is not None:
            self._sub.close()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def __enter__(self) -> Watcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Failures:
    """Repeated failures logged as a few lines: the first in full, then a count per period, then the recovery."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.count = 0
        self._unreported = 0
        self._next_report = 0.0

    def failed(self, what: str, exc: BaseException) -> None:
        self.count += 1
        now = time.monotonic()
        if self.count == 1:
            log.warning("%s failed; retrying (repeats are summarised every %.0f s)", what, self.every_s, exc_info=exc)
            self._next_report = now + self.every_s
        elif now >= self._next_report:
            log.warning("%s still failing: %d failures in a row, %d since the last report; last: %s: %s",
                        what, self.count, self._unreported + 1, type(exc).__name__, _first_line(exc))
            self._unreported, self._next_report = 0, now + self.every_s
        else:
            self._unreported += 1

    def succeeded(self, what: str) -> None:
        if self.count:
            log.warning("%s works again after %d failures", what, self.count)
        self.count, self._unreported = 0, 0


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else ""
