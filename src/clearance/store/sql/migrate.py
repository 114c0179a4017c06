"""Moving a database's registry schema up or down, from code, without ``alembic.ini``.

The Alembic scripts ship inside the package (``migrations/``); ``migrate`` and
``downgrade`` build the Alembic configuration in code and run it on one connection, so the
engine's settings (SQLite pragmas, a PostgreSQL ``search_path``) apply to the migration
exactly as to the store. Both are idempotent: migrating to the current revision does nothing.

Runs are serialised, so processes starting together (the workers of ``clearance serve``,
several gateways on one PostgreSQL, ``clearance db upgrade`` in a deployment's init step)
never race: on PostgreSQL a session-level ``pg_advisory_lock`` is held on the migrating
connection for the whole run, and the first holder migrates while the others wait and then
find the schema at head; on a SQLite file an exclusive ``flock`` on ``<file>.migrate-lock``
does the same.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from collections.abc import Callable, Iterator
from importlib.resources import as_file, files

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from ...ports import StoreUnavailable
from .engine import make_engine

Target = Engine | str | os.PathLike[str] | None


def migrate(url: Target = None, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade the database at ``url`` (a URL, a SQLite path or an Engine) to ``revision``.

    Returns the revisions before and after, both read under the migration lock.
    """
    return _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: Target = None, revision: str = "base") -> None:
    """Downgrade the database at ``url`` to ``revision`` (``base``: no registry tables at all)."""
    _run(url, lambda config: command.downgrade(config, revision))


def current(url: Target = None) -> str | None:
    """The revision the database at ``url`` is at, ``None`` when never migrated."""
    from alembic.runtime.migration import MigrationContext

    engine, owned = _engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreUnavailable(f"registry database: {type(exc).__name__}: {getattr(exc, 'orig', None) or exc}") from exc
    finally:
        if owned:
            engine.dispose()


def head() -> str:
    """The newest revision the package ships: what ``migrate`` brings a database to."""
    from alembic.script import ScriptDirectory

    with as_file(files("clearance.store.sql") / "migrations") as location:
        config = Config()
        config.set_main_option("script_location", str(location))
        found = ScriptDirectory.from_config(config).get_current_head()
    assert found is not None, "the packaged migrations have no head"
    return found


def _engine(url: Target) -> tuple[Engine, bool]:
    if isinstance(url, Engine):
        return url, False
    return make_engine(url), True


def _run(url: Target, action: Callable[[Config], object]) -> tuple[str | None, str | None]:
    from alembic.runtime.migration import MigrationContext

    engine, owned = _engine(url)
    try:
        with as_file(files("clearance.store.sql") / "migrations") as location:
            config = Config()
            config.set_main_option("script_location", str(location))
            with engine.connect() as connection, _exclusive(connection):
                before = MigrationContext.configure(connection).get_current_revision()
                connection.commit()
                config.attributes["connection"] = connection
                action(config)
                connection.commit()
                after = MigrationContext.configure(connection).get_current_revision()
                connection.commit()
                return before, after
    except SQLAlchemyError as exc:
        raise StoreUnavailable(f"registry database: {type(exc).__name__}: {getattr(exc, 'orig', None) or exc}") from exc
    finally:
        if owned:
            engine.dispose()


# One advisory-lock key for clearance's migrations (a 32-bit CRC of the name: stable across versions).
LOCK_KEY = zlib.crc32(b"clearance.store.sql.migrate")


@contextlib.contextmanager
def _exclusive(connection: Connection) -> Iterator[None]:
    """Hold the migration lock of the database behind ``connection`` (see the module docstring)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        connection.commit()  # the lock is the session's: it outlives this transaction, not the connection
        try:
            yield
        finally:
            connection.rollback()  # after a failed migration the unlock must not run in an aborted transaction
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            connection.commit()
        return
    database = connection.engine.url.database if dialect == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield  # nothing another process could share
        return
    import fcntl

    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
