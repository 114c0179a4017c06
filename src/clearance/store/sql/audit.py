"""``SqlAuditStore``: the tamper-evident audit log on SQLite or PostgreSQL.

A record's seq is its position in the Merkle tree, so seqs must be contiguous from 0 even
with many writer processes. Each ``append_batch`` is therefore one transaction under the
log's single writer lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped
advisory lock, distinct from the registry's so the two logs never wait on each other) that
reads ``max(seq)`` and inserts the next seqs. A transaction that fails leaves nothing, so a
failed batch never leaves a gap. Records are returned only after the commit, which is
durable (SQLite ``synchronous=FULL``, PostgreSQL's default synchronous commit).

Encoding happens before the lock (see ``clearance.store.audit_memory.prepare``); under it
only seqs are spliced in and the rows inserted in one command (PostgreSQL: ``COPY``; SQLite:
``executemany``), which is what makes group commit (``clearance.audit.group_commit``) pay
off. Any database failure surfaces as ``StoreUnavailable`` (callers fail closed). Bodies are
never logged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from ...audit.heads import SignedTreeHead, TreeHead
from ...audit.record import AuditRecord
from ..audit_memory import QUERY_COLUMNS, SubtreeCache, decode, prepare, stamp
from .engine import WRITE, unavailable
from .tables import audit_heads as H
from .tables import audit_records as R

# The pg_advisory_xact_lock key of the audit writer: a fixed, arbitrary 64-bit number.
AUDIT_WRITER_LOCK = int.from_bytes(bytes.fromhex("a7d1c30f5e924b68"), "big", signed=True)


def _row(record: AuditRecord, data: bytes, leaf: bytes, columns: dict[str, str | None]) -> tuple[Any, ...]:
    """The ``audit_records`` row of a stamped record, in the insert's column order."""
    return (record.seq, record.at_ns, record.kind, data.decode("utf-8"), leaf, columns["entity"], columns["person"],
            columns["model"], columns["outcome"], columns["code"], columns["authorization"])


assert QUERY_COLUMNS == ("entity", "person", "model", "outcome", "code", "authorization")  # _row's order


class SqlAuditStore:
    """An ``AuditStore`` on a migrated database (see ``clearance.store.sql.migrate``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._subtrees = SubtreeCache(self.leaf_hashes)
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        names = ("seq", "at_ns", "kind", "data", "leaf", *QUERY_COLUMNS)
        # Quoted: ``authorization`` is a reserved word in PostgreSQL.
        self._insert_sql = (f"INSERT INTO {R.name} ({', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)}) "
                            f"VALUES ({', '.join([mark] * len(names))})")
        self._max_sql = f"SELECT max(seq) FROM {R.name}"
        self._copy_sql = f"COPY {R.name} ({', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)}) FROM STDIN"

    @property
    def engine(self) -> Engine:
        return self._engine

    prepare = staticmethod(prepare)  # what group commit runs on the appender's thread

    def close(self) -> None:
        """Close the pooled connections; the store must not be used afterwards."""
        self._engine.dispose()

    def append_batch(self, entries: list[tuple[int, str, dict[str, Any]]]) -> list[AuditRecord]:
        """See ``AuditStore.append_batch``: one transaction under the writer lock, returned after commit.

        The rows go straight to the driver's ``executemany``: this is the gateway's hot path, and
        SQLAlchemy's statement machinery costs several times the commit itself for a small batch.
        """
        prepared = prepare(entries)
        if not prepared:
            return []
        with self._unavailable():
            pooled = self._engine.raw_connection()  # the connect listener has set the pragmas
            try:
                cursor = pooled.cursor()
                try:
                    # The writer lock: SQLite's write lock, or a transaction-scoped advisory lock.
                    if self._postgres:
                        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_WRITER_LOCK,))
                    else:
                        cursor.execute("BEGIN IMMEDIATE")
                    cursor.execute(self._max_sql)
                    found = cursor.fetchone()[0]
                    start = 0 if found is None else int(found) + 1
                    out, datas, leaves = stamp(prepared, start)
                    rows = [_row(record, data, leaf, entry.columns)
                            for record, data, leaf, entry in zip(out, datas, leaves, prepared, strict=True)]
                    if self._postgres:
                        # COPY streams the rows in one command: a third of executemany's time and CPU.
                        with cursor.copy(self._copy_sql) as copy:
                            for row in rows:
                                copy.write_row(row)
                    else:
                        cursor.executemany(self._insert_sql, rows)
                finally:
                    cursor.close()
                pooled.commit()
            except BaseException:
                with contextlib.suppress(Exception):  # a broken connection: the original error is the news
                    pooled.rollback()
                raise
            finally:
                pooled.close()
        return out

    def append_in(self, conn: Connection, entries: list[tuple[int, str, dict[str, Any]]]) -> list[AuditRecord]:
        """Append inside the caller's open write transaction (a registry change and its record commit together).

        The caller's transaction must be on this store's database; the audit writer lock is
        taken here (SQLite's write lock is already held by the caller's ``BEGIN IMMEDIATE``).
        Nothing is durable before the caller commits.
        """
        prepared = prepare(entries)
        if not prepared:
            return []
        if self._postgres:
            conn.execute(select(func.pg_advisory_xact_lock(AUDIT_WRITER_LOCK)))
        out, datas, leaves = stamp(prepared, self._next_seq(conn))
        rows = [_row(record, data, leaf, entry.columns)
                for record, data, leaf, entry in zip(out, datas, leaves, prepared, strict=True)]
        conn.exec_driver_sql(self._insert_sql, rows)
        return out

    def size(self) -> int:
        with self._unavailable(), self._engine.connect() as conn:
            return self._next_seq(conn)

    def records(self, start: int, end: int) -> list[AuditRecord]:
        return [decode(data) for data in self._column(R.c.data, start, end)]

    def raw(self, start: int, end: int) -> list[bytes]:
        return [data.encode("utf-8") for data in self._column(R.c.data, start, end)]

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        return [bytes(leaf) for leaf in self._column(R.c.leaf, start, end)]

    def subtree_hash(self, start: int, end: int) -> bytes:
        """Merkle tree hash of stored leaves [start, end) (see ``SubtreeCache``)."""
        return self._subtrees.subtree_hash(start, end)

    def query(
        self, *, since_ns: int | None = None, until_ns: int | None = None, entity: str | None = None,
        person: str | None = None, model: str | None = None, outcome: str | None = None, code: str | None = None,
        kinds: Iterable[str] | None = None, entities: set[str] | None = None, after_seq: int | None = None,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        """See ``AuditStore.query``: one indexed query, ordered by seq."""
        if (entities is not None and not entities) or limit <= 0:
            return []
        query = select(R.c.data).order_by(R.c.seq).limit(limit)
        if since_ns is not None:
            query = query.where(R.c.at_ns >= since_ns)
        if until_ns is not None:
            query = query.where(R.c.at_ns <= until_ns)
        if after_seq is not None:
            query = query.where(R.c.seq > after_seq)
        if kinds is not None:
            query = query.where(R.c.kind.in_(sorted(set(kinds))))
        if entities is not None:
            query = query.where(R.c.entity.in_(sorted(entities)))
        for column, value in zip(QUERY_COLUMNS[:5], (entity, person, model, outcome, code), strict=True):
            if value is not None:
                query = query.where(R.c[column] == value)
        with self._unavailable(), self._engine.connect() as conn:
            return [decode(data) for data in conn.scalars(query)]

    def put_head(self, sth: SignedTreeHead) -> None:
        """See ``AuditStore.put_head``: checked and inserted under the writer lock."""
        head = sth.head
        with self._unavailable(), self._write() as conn:
            existing = conn.scalar(select(H.c.root).where(H.c.size == head.size))
            if existing is not None:
                if bytes(existing) != head.root:
                    raise ValueError(f"a head of size {head.size} with another root is already stored")
                return
            conn.execute(insert(H).values(size=head.size, root=head.root, at_ns=head.at_ns, key_id=head.key_id,
                                          signature=sth.signature))

    def heads(self) -> list[SignedTreeHead]:
        return self._heads(select(H).order_by(H.c.size))

    def latest_head(self) -> SignedTreeHead | None:
        found = self._heads(select(H).order_by(H.c.size.desc()).limit(1))
        return found[0] if found else None

    def _heads(self, query: Any) -> list[SignedTreeHead]:
        with self._unavailable(), self._engine.connect() as conn:
            return [
                SignedTreeHead(TreeHead(size=int(r.size), root=bytes(r.root), at_ns=int(r.at_ns), key_id=r.key_id),
                               bytes(r.signature))
                for r in conn.execute(query)
            ]

    def _column(self, column: Any, start: int, end: int) -> list[Any]:
        if end <= start:
            return []
        query = select(column).where(R.c.seq >= start, R.c.seq < end).order_by(R.c.seq)
        with self._unavailable(), self._engine.connect() as conn:
            return list(conn.scalars(query))

    @staticmethod
    def _next_seq(conn: Connection) -> int:
        return int(conn.scalar(select(func.coalesce(func.max(R.c.seq), -1)))) + 1

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction holding the audit writer lock; commits on a clean exit."""
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            if self._postgres:
                conn.execute(select(func.pg_advisory_xact_lock(AUDIT_WRITER_LOCK)))
            yield conn

    def _unavailable(self) -> AbstractContextManager[None]:
        return unavailable(self._engine, "audit database")
