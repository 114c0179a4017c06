"""An in-memory ``ListSnapshotStore`` with the SQL store's semantics, for tests and ``memory:``."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from ..ports import Clock, ListSnapshotInfo
from .clock import SystemClock
from .memory import json_copy


class MemoryListStore:
    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._snapshots: list[ListSnapshotInfo] = []
        self._entries: dict[int, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def add_snapshot(
        self, source: str, label: str, list_date: str, content_sha256: str, actor: str, reason: str,
        counts: dict[str, int], entries: list[dict[str, Any]],
    ) -> ListSnapshotInfo:
        """See ``ListSnapshotStore.add_snapshot``."""
        copied = sorted((json_copy(e) or {} for e in entries), key=lambda e: e["uid"])
        uids = [e["uid"] for e in copied]
        if len(set(uids)) != len(uids):
            raise ValueError("entries: uids must be unique within a snapshot")
        with self._lock:
            info = ListSnapshotInfo(len(self._snapshots) + 1, source, label, list_date, content_sha256,
                                    self._clock.now_ns(), actor, reason, dict(counts))
            self._snapshots.append(info)
            self._entries[info.id] = copied
        return _out(info)

    def snapshots(self, source: str | None = None) -> list[ListSnapshotInfo]:
        with self._lock:
            return [_out(s) for s in self._snapshots if source is None or s.source == source]

    def snapshot(self, snapshot_id: int) -> ListSnapshotInfo | None:
        with self._lock:
            found = [s for s in self._snapshots if s.id == snapshot_id]
        return _out(found[0]) if found else None

    def live(self) -> dict[str, ListSnapshotInfo]:
        with self._lock:
            return {s.source: _out(s) for s in self._snapshots}  # later ids overwrite earlier ones

    def entries(self, snapshot_id: int) -> list[dict[str, Any]]:
        with self._lock:
            stored = self._entries[snapshot_id]
        return [json_copy(e) or {} for e in stored]


def _out(info: ListSnapshotInfo) -> ListSnapshotInfo:
    return replace(info, counts=dict(info.counts))
