"""The snapshot a long-running process decides with, swapped atomically on change.

Readers call :meth:`LiveSnapshot.current`, which is a reference read: a rebuild
happens beside it and replaces the reference in one assignment, so no reader
ever sees half a policy. A rebuild is triggered by :meth:`refresh` (called on
change events and by the poll fallback), and by time itself: records that take
effect in the future are scheduled, and the first read after their instant
rebuilds. If a rebuild fails (store unreachable, rejected policy) the previous
snapshot stays and the error is kept for health checks: stale but never open.
"""

from __future__ import annotations

import threading

from ..core.index import CompiledPolicy
from ..ports import Clock
from .service import RegistryService


class LiveSnapshot:
    def __init__(self, service: RegistryService, clock: Clock) -> None:
        self.service = service
        self.clock = clock
        self._lock = threading.Lock()
        self.seq = -1
        self.next_change: int | None = None
        self.error: Exception | None = None
        self._scheduled: set[int] = set()
        self._policy: CompiledPolicy = self._build()

    def current(self) -> CompiledPolicy:
        due = self.next_change
        if due is not None and self.clock.now_ns() >= due:
            self.refresh(force=True)
        return self._policy

    def refresh(self, force: bool = False) -> CompiledPolicy:
        """Rebuild if the store has changed since the last build (or ``force``)."""
        with self._lock:
            try:
                if force or self.service.store.latest_seq() != self.seq:
                    self._policy = self._build()
                self.error = None
            except Exception as exc:  # noqa: BLE001 - keep serving the last good snapshot; report it
                self.error = exc
        return self._policy

    def _build(self) -> CompiledPolicy:
        store = self.service.store
        # Only the rows since the last build are read to learn of newly scheduled changes.
        fresh = store.changes_since(max(self.seq, 0))
        seq = fresh[-1].seq if fresh else max(self.seq, store.latest_seq())
        now = self.clock.now_ns()
        policy = self.service.snapshot(valid_at=now)
        self._scheduled = {t for t in self._scheduled if t > now} | {r.valid_from for r in fresh if r.valid_from > now}
        self.seq, self.next_change = seq, min(self._scheduled) if self._scheduled else None
        return policy
