"""``SqlListStore``: restricted-party list snapshots on SQLite or PostgreSQL.

A snapshot and all its entries are inserted in one transaction, so a failed import
leaves nothing behind and the previous snapshot stays live. Rows are never updated or
deleted. Any database failure surfaces as ``StoreUnavailable`` (callers fail closed).
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Engine, func, insert, select

from ...ports import Clock, ListSnapshotInfo
from ..clock import SystemClock
from .engine import WRITE, unavailable
from .tables import screening_entries as E
from .tables import screening_snapshots as S

BATCH = 5_000


class SqlListStore:
    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()

    def add_snapshot(
        self, source: str, label: str, list_date: str, content_sha256: str, actor: str, reason: str,
        counts: dict[str, int], entries: list[dict[str, Any]],
    ) -> ListSnapshotInfo:
        """See ``ListSnapshotStore.add_snapshot``."""
        rows = [{"uid": e["uid"], "data": json.dumps(e, sort_keys=True, ensure_ascii=False, allow_nan=False)} for e in entries]
        values = {"source": source, "label": label[:500], "list_date": list_date, "content_sha256": content_sha256,
                  "imported_at": self._clock.now_ns(), "actor": actor, "reason": reason, "counts": dict(counts)}
        with self._unavailable(), self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            snapshot_id = int(conn.execute(insert(S).values(**values).returning(S.c.id)).scalar_one())
            for start in range(0, len(rows), BATCH):
                conn.execute(insert(E), [{"snapshot_id": snapshot_id, **r} for r in rows[start:start + BATCH]])
        return ListSnapshotInfo(id=snapshot_id, **values)

    def snapshots(self, source: str | None = None) -> list[ListSnapshotInfo]:
        query = select(S).order_by(S.c.id)
        if source is not None:
            query = query.where(S.c.source == source)
        with self._unavailable(), self._engine.connect() as conn:
            return [_info(row) for row in conn.execute(query)]

    def snapshot(self, snapshot_id: int) -> ListSnapshotInfo | None:
        with self._unavailable(), self._engine.connect() as conn:
            row = conn.execute(select(S).where(S.c.id == snapshot_id)).first()
        return None if row is None else _info(row)

    def live(self) -> dict[str, ListSnapshotInfo]:
        newest = select(func.max(S.c.id)).group_by(S.c.source).scalar_subquery()
        with self._unavailable(), self._engine.connect() as conn:
            return {row.source: _info(row) for row in conn.execute(select(S).where(S.c.id.in_(newest)))}

    def entries(self, snapshot_id: int) -> list[dict[str, Any]]:
        with self._unavailable(), self._engine.connect() as conn:
            if conn.execute(select(S.c.id).where(S.c.id == snapshot_id)).first() is None:
                raise KeyError(snapshot_id)
            rows = conn.execute(select(E.c.data).where(E.c.snapshot_id == snapshot_id).order_by(E.c.uid))
            return [json.loads(r.data) for r in rows]

    def _unavailable(self) -> AbstractContextManager[None]:
        return unavailable(self._engine, "list store")


def _info(row: Any) -> ListSnapshotInfo:
    return ListSnapshotInfo(
        id=int(row.id), source=row.source, label=row.label, list_date=row.list_date,
        content_sha256=row.content_sha256, imported_at=int(row.imported_at), actor=row.actor,
        reason=row.reason, counts={str(k): int(v) for k, v in dict(row.counts).items()},
    )
