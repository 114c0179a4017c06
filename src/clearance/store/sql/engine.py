"""Opening the registry database: SQLite (embedded default) or PostgreSQL (by URL).

``make_engine`` accepts a SQLAlchemy URL (``sqlite:///path``, ``postgresql://...``) or a
plain filesystem path, which means a SQLite file there. A plain ``postgresql://`` (or
``postgres://``) URL is rewritten to the psycopg 3 driver, the one we ship.

SQLite is set up for durability and honest locking: WAL (readers never block the writer),
``synchronous=FULL`` (an acknowledged commit survives power loss), a busy timeout (writers
queue rather than fail), and SQLAlchemy rather than the ``sqlite3`` module emits BEGIN, so
reads are repeatable and a writer can ask for ``BEGIN IMMEDIATE`` (see ``WRITE``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ...ports import StoreRejected, StoreUnavailable

DEFAULT_PATH = "clearance.db"
BUSY_TIMEOUT_MS = 30_000

# Execution options for a connection that will write: on SQLite the transaction starts with
# BEGIN IMMEDIATE, taking the database's single write lock up front, so a read-then-write
# can never be invalidated by another writer between the read and the write.
WRITE = {"clearance_sqlite_begin": "BEGIN IMMEDIATE"}


def normalize_url(url: str | os.PathLike[str] | None = None) -> str:
    """The SQLAlchemy URL for ``url``: a path becomes ``sqlite:///path``; PostgreSQL gets psycopg 3."""
    if url is None:
        url = DEFAULT_PATH
    if isinstance(url, os.PathLike) or "://" not in url:
        return f"sqlite:///{Path(url)}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def make_engine(url: str | os.PathLike[str] | None = None, **kwargs: Any) -> Engine:
    """An Engine for ``url`` (see ``normalize_url``), configured for the registry's needs.

    Extra keyword arguments go to ``sqlalchemy.create_engine``. Connecting is lazy:
    an unreachable server is reported by the first operation, as ``StoreUnavailable``.
    """
    parsed = make_url(normalize_url(url))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, kwargs)
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)
    raise ValueError(f"database URL: backend `{backend}` is not supported (use sqlite or postgresql)")


def _sqlite_engine(parsed: Any, kwargs: dict[str, Any]) -> Engine:
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", BUSY_TIMEOUT_MS / 1000)
    engine = create_engine(parsed, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("clearance_sqlite_begin", "BEGIN"))

    return engine


@contextmanager
def unavailable(engine: Engine, what: str) -> Iterator[None]:
    """Turn any database failure into ``StoreUnavailable`` naming ``what`` and the backend (callers fail closed)."""
    dbapi = getattr(engine.dialect, "loaded_dbapi", None) or engine.dialect.dbapi
    # Driver errors too: the hot paths talk to the driver's cursor directly.
    errors = (SQLAlchemyError, dbapi.Error) if dbapi is not None else (SQLAlchemyError,)
    rejected = getattr(dbapi, "DataError", None) if dbapi is not None else None
    try:
        yield
    except errors as exc:
        cause = getattr(exc, "orig", None) or exc
        first = str(cause).splitlines()[0] if str(cause) else ""
        kind = StoreRejected if rejected is not None and isinstance(cause, rejected) else StoreUnavailable
        raise kind(f"{what} ({engine.dialect.name}): {type(cause).__name__}: {first}") from exc
