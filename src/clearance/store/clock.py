"""Clocks for stores: the system clock for real use, a settable one for tests."""

from __future__ import annotations

import threading
import time


class SystemClock:
    """Wall-clock UTC instants in integer nanoseconds since the epoch."""

    def now_ns(self) -> int:
        return time.time_ns()


class FixedClock:
    """A clock that says what it is told, so tests can fix ``recorded_at``.

    ``set`` moves it to an instant (backwards too: stores must keep ``recorded_at``
    monotonic regardless); ``advance`` moves it forward. Thread-safe.
    """

    def __init__(self, now_ns: int = 0) -> None:
        self._now = now_ns
        self._lock = threading.Lock()

    def set(self, now_ns: int) -> None:
        with self._lock:
            self._now = now_ns

    def advance(self, ns: int) -> None:
        with self._lock:
            self._now += ns

    def now_ns(self) -> int:
        with self._lock:
            return self._now
