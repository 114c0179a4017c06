"""Console sessions in the registry database, so every worker and replica knows the same ones.

The same contract as :class:`.sessions.SessionStore`: only the SHA-256 of a
cookie's id is stored, a session past its idle or absolute expiry is gone, and the number of
live sessions is bounded (the one seen longest ago goes first). Each console request reads its
session and pushes the idle expiry on: one indexed row read and one update.

Every transaction that writes takes the write lock up front (``WRITE``): on SQLite a
read-then-write transaction begun plainly fails at once with "database is locked" when another
writer committed in between, whatever the busy timeout. A database failure is
``StoreUnavailable``, answered 503 like every other store outage, never a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from ..store.sql.engine import WRITE, unavailable
from ..store.sql.tables import console_sessions as table
from .sessions import ABSOLUTE_NS, IDLE_NS, MAX_SESSIONS, Session, digest, expire, new_id


class SqlSessionStore:
    def __init__(self, engine: Engine, idle_ns: int = IDLE_NS, absolute_ns: int = ABSOLUTE_NS,
                 limit: int = MAX_SESSIONS) -> None:
        self.engine = engine
        self.idle_ns = idle_ns
        self.absolute_ns = absolute_ns
        self.limit = limit

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with unavailable(self.engine, "console sessions"), \
                self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            yield conn

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with unavailable(self.engine, "console sessions"), self.engine.connect() as conn:
            yield conn

    def start(self, credential: str, now_ns: int) -> tuple[str, Session]:
        session_id = new_id()
        session = Session(credential, new_id(), now_ns, now_ns, digest=digest(session_id))
        expire(session, now_ns, self.idle_ns, self.absolute_ns)
        with self._writing() as conn:
            conn.execute(delete(table).where(table.c.expires_ns <= now_ns))
            live = conn.execute(select(func.count()).select_from(table)).scalar_one()
            if live >= self.limit:
                oldest = select(table.c.digest).order_by(table.c.seen_ns).limit(live - self.limit + 1)
                conn.execute(delete(table).where(table.c.digest.in_(oldest.scalar_subquery())))
            conn.execute(insert(table).values(**_row(session)))
        return session_id, session

    def get(self, session_id: str | None, now_ns: int) -> Session | None:
        if not session_id or len(session_id) > 128:
            return None
        key = digest(session_id)
        with self._writing() as conn:
            row = conn.execute(select(table).where(table.c.digest == key)).mappings().first()
            if row is None:
                return None
            if now_ns >= row["expires_ns"]:
                conn.execute(delete(table).where(table.c.digest == key))
                return None
            session = Session(row["credential"], row["csrf"], row["started_ns"], now_ns,
                              flash=[(kind, text) for kind, text in row["flash"]], digest=key)
            expire(session, now_ns, self.idle_ns, self.absolute_ns)
            conn.execute(update(table).where(table.c.digest == key)
                         .values(seen_ns=now_ns, expires_ns=session.expires_ns))
        return session

    def save(self, session: Session) -> None:
        with self._writing() as conn:
            conn.execute(update(table).where(table.c.digest == session.digest)
                         .values(flash=[list(f) for f in session.flash]))

    def end(self, session_id: str | None) -> None:
        if session_id:
            with self._writing() as conn:
                conn.execute(delete(table).where(table.c.digest == digest(session_id)))

    def end_credential(self, credential: str) -> None:
        with self._writing() as conn:
            conn.execute(delete(table).where(table.c.credential == credential))

    def __len__(self) -> int:
        with self._reading() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def stored_keys(self) -> list[str]:
        with self._reading() as conn:
            return [r[0] for r in conn.execute(select(table.c.digest))]


def _row(session: Session) -> dict[str, Any]:
    return {"digest": session.digest, "credential": session.credential, "csrf": session.csrf,
            "started_ns": session.started_ns, "seen_ns": session.seen_ns, "expires_ns": session.expires_ns,
            "flash": [list(f) for f in session.flash]}
