"""An in-memory ``RegistryStore`` with exactly the SQL store's semantics.

It exists so services can be unit-tested fast; the shared store test-suite runs against it
and against SQLite and PostgreSQL, which is what keeps the three in agreement. Bodies are
copied through JSON on the way in and out, as a database would, so callers can neither
mutate stored history nor store something a database could not.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..ports import Change, Clock, ConflictError, Record
from .clock import SystemClock


def json_copy(body: dict[str, Any] | None) -> dict[str, Any] | None:
    """A deep copy of ``body`` as a JSON round trip would give it; non-JSON raises ValueError."""
    if body is None:
        return None
    try:
        return json.loads(json.dumps(body, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"body: not a JSON document ({exc})") from None


class MemoryRegistry:
    """A bitemporal registry log held in a list; thread-safe; lost when the process ends."""

    def __init__(self, clock: Clock | None = None, audit: Any | None = None,
                 journal: Callable[[list[Record]], list[tuple[int, str, dict[str, Any]]]] | None = None) -> None:
        self._clock = clock or SystemClock()
        self._audit = audit if journal is not None else None
        self._journal = journal
        self._rows: list[Record] = []
        self._latest: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def append(
        self, changes: list[Change], expect: dict[tuple[str, str], int | None] | None = None
    ) -> list[Record]:
        """See ``RegistryStore.append``."""
        bodies = [json_copy(c.body) for c in changes]
        with self._lock:
            for key, seen in (expect or {}).items():
                actual = self._latest.get(key)
                if actual != seen:
                    raise ConflictError(key, seen, actual)
            floor = self._rows[-1].recorded_at if self._rows else 0
            recorded_at = max(self._clock.now_ns(), floor)
            stored = []
            for change, body in zip(changes, bodies, strict=True):
                record = Record(
                    seq=len(self._rows) + 1, kind=change.kind, key=change.key, op=change.op, body=body,
                    valid_from=change.valid_from, recorded_at=recorded_at, actor=change.actor,
                    reason=change.reason,
                )
                self._rows.append(record)
                self._latest[(change.kind, change.key)] = record.seq
                stored.append(record)
            if self._audit is not None and self._journal is not None:
                self._audit.append_batch(self._journal([_out(r) for r in stored]))
        return [_out(r) for r in stored]

    def state(
        self, valid_at: int, known_at: int | None = None, kind: str | None = None
    ) -> dict[tuple[str, str], Record]:
        """See ``RegistryStore.state``."""
        with self._lock:
            rows = list(self._rows)
        best: dict[tuple[str, str], Record] = {}
        for row in rows:
            if row.valid_from > valid_at or (known_at is not None and row.recorded_at > known_at):
                continue
            if kind is not None and row.kind != kind:
                continue
            key = (row.kind, row.key)
            held = best.get(key)
            if held is None or (row.valid_from, row.seq) > (held.valid_from, held.seq):
                best[key] = row
        return {key: _out(row) for key, row in sorted(best.items()) if row.op == "put"}

    def history(self, kind: str, key: str) -> list[Record]:
        """See ``RegistryStore.history``."""
        with self._lock:
            return [_out(r) for r in self._rows if r.kind == kind and r.key == key]

    def latest_seq(self) -> int:
        """See ``RegistryStore.latest_seq``."""
        with self._lock:
            return len(self._rows)

    def changes_since(self, seq: int) -> list[Record]:
        """See ``RegistryStore.changes_since``."""
        with self._lock:
            return [_out(r) for r in self._rows[max(seq, 0):]]


def _out(record: Record) -> Record:
    return replace(record, body=json_copy(record.body))
