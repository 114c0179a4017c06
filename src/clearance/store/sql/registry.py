"""``SqlRegistry``: the bitemporal registry log on SQLite or PostgreSQL.

Writers are serialized across the whole log, not per key: SQLite has a single write lock
anyway (taken up front by ``BEGIN IMMEDIATE``), and on PostgreSQL one transaction-scoped
advisory lock gives the same. Registry changes are rare (a few a minute at most), and a
single writer at a time buys three properties followers and auditors rely on: seq order is
commit order (``changes_since`` never skips a row that commits late), ``recorded_at``
never goes backwards, and the optimistic ``expect`` check cannot race the insert.

Any database failure surfaces as ``StoreUnavailable`` (callers fail closed); a lost
optimistic race as ``ConflictError``. Bodies are never logged. With an audit store and a
journal, each change's audit record is inserted in the same transaction (under the audit
writer lock, taken after the registry's, the one order every writer uses): a crash leaves
both or neither.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from ...ports import Change, Clock, ConflictError, Record
from ..clock import SystemClock
from ..memory import json_copy
from .engine import WRITE, unavailable
from .tables import registry_changes as T

# The pg_advisory_xact_lock key of the registry writer: a fixed, arbitrary 64-bit number.
WRITER_LOCK = int.from_bytes(bytes.fromhex("5d0f6c1e2b7a4c93"), "big", signed=True)
COLUMNS = (T.c.seq, T.c.kind, T.c.key, T.c.op, T.c.body, T.c.valid_from, T.c.recorded_at, T.c.actor, T.c.reason)


class SqlRegistry:
    """A ``RegistryStore`` on a migrated database (see ``clearance.store.sql.migrate``)."""

    def __init__(self, engine: Engine, clock: Clock | None = None, audit: Any | None = None,
                 journal: Callable[[list[Record]], list[tuple[int, str, dict[str, Any]]]] | None = None) -> None:
        """``audit`` (a ``SqlAuditStore`` on the same database) and ``journal`` (rows -> audit entries):
        every change is appended to the audit log in the transaction that stores it."""
        self._engine = engine
        self._clock = clock or SystemClock()
        self._postgres = engine.dialect.name == "postgresql"
        self._audit = audit if journal is not None else None
        self._journal = journal

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Close the pooled connections; the store must not be used afterwards."""
        self._engine.dispose()

    def append(
        self, changes: list[Change], expect: dict[tuple[str, str], int | None] | None = None
    ) -> list[Record]:
        """See ``RegistryStore.append``: one transaction, all or nothing, returned after commit."""
        bodies = [json_copy(c.body) for c in changes]
        with self._unavailable(), self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            if self._postgres:
                conn.execute(select(func.pg_advisory_xact_lock(WRITER_LOCK)))
            for (kind, key), seen in (expect or {}).items():
                actual = conn.scalar(select(func.max(T.c.seq)).where(T.c.kind == kind, T.c.key == key))
                if actual != seen:
                    raise ConflictError((kind, key), seen, actual)
            floor = conn.scalar(select(func.max(T.c.recorded_at))) or 0
            recorded_at = max(self._clock.now_ns(), floor)
            stored = [self._insert(conn, c, body, recorded_at) for c, body in zip(changes, bodies, strict=True)]
            if self._audit is not None and self._journal is not None:
                self._audit.append_in(conn, self._journal(stored))
        return stored

    def state(
        self, valid_at: int, known_at: int | None = None, kind: str | None = None
    ) -> dict[tuple[str, str], Record]:
        """See ``RegistryStore.state``; one query, ranked by a window function."""
        rank = func.row_number().over(
            partition_by=(T.c.kind, T.c.key), order_by=(T.c.valid_from.desc(), T.c.seq.desc())
        )
        inner = select(*COLUMNS, rank.label("rank")).where(T.c.valid_from <= valid_at)
        if known_at is not None:
            inner = inner.where(T.c.recorded_at <= known_at)
        if kind is not None:
            inner = inner.where(T.c.kind == kind)
        ranked = inner.subquery("ranked")
        query = (
            select(*(ranked.c[c.name] for c in COLUMNS))
            .where(ranked.c.rank == 1, ranked.c.op == "put")
            .order_by(ranked.c.kind, ranked.c.key)
        )
        records = self._read(query)
        return {(r.kind, r.key): r for r in records}

    def history(self, kind: str, key: str) -> list[Record]:
        """See ``RegistryStore.history``."""
        return self._read(select(*COLUMNS).where(T.c.kind == kind, T.c.key == key).order_by(T.c.seq))

    def latest_seq(self) -> int:
        """See ``RegistryStore.latest_seq``.

        Every gateway call asks this before it is decided (``enforcement.freshness``), so it
        goes straight to the driver: SQLAlchemy's statement machinery would cost more than the
        indexed ``max`` itself.
        """
        with self._unavailable():
            pooled = self._engine.raw_connection()
            try:
                cursor = pooled.cursor()
                try:
                    cursor.execute(f"SELECT max(seq) FROM {T.name}")
                    found = cursor.fetchone()[0]
                finally:
                    cursor.close()
            finally:
                pooled.close()  # the pool rolls back whatever the read opened
        return int(found or 0)

    def changes_since(self, seq: int) -> list[Record]:
        """See ``RegistryStore.changes_since``."""
        return self._read(select(*COLUMNS).where(T.c.seq > seq).order_by(T.c.seq))

    def _insert(self, conn: Connection, change: Change, body: dict[str, Any] | None, recorded_at: int) -> Record:
        values = {
            "kind": change.kind, "key": change.key, "op": change.op, "body": body,
            "valid_from": change.valid_from, "recorded_at": recorded_at,
            "actor": change.actor, "reason": change.reason,
        }
        seq = conn.execute(insert(T).values(**values).returning(T.c.seq)).scalar_one()
        return Record(seq=int(seq), **values)

    def _read(self, query: Any) -> list[Record]:
        with self._unavailable(), self._engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def _unavailable(self) -> AbstractContextManager[None]:
        return unavailable(self._engine, "registry database")


def _record(row: Any) -> Record:
    return Record(
        seq=int(row.seq), kind=row.kind, key=row.key, op=row.op, body=row.body,
        valid_from=int(row.valid_from), recorded_at=int(row.recorded_at), actor=row.actor, reason=row.reason,
    )
