"""Moving a database's registry schema up or down, from code, without ``alembic.ini``.

The Alembic scripts ship inside the package (``migrations/``); ``migrate`` and
``downgrade`` build the Alembic configuration in code and run it on one connection, so the
engine's settings (SQLite pragmas, a PostgreSQL ``search_path``) apply to the migration
exactly as to the store. Both are idempotent: migrating to the current revision does nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.resources import as_file, files

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ...ports import StoreUnavailable
from .engine import make_engine

Target = Engine | str | os.PathLike[str] | None


def migrate(url: Target = None, revision: str = "head") -> None:
    """Upgrade the database at ``url`` (a URL, a SQLite path or an Engine) to ``revision``."""
    _run(url, lambda config: command.upgrade(config, revision))


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


def _run(url: Target, action: Callable[[Config], object]) -> None:
    engine, owned = _engine(url)
    try:
        with as_file(files("clearance.store.sql") / "migrations") as location:
            config = Config()
            config.set_main_option("script_location", str(location))
            with engine.connect() as connection:
                config.attributes["connection"] = connection
                action(config)
                connection.commit()
    except SQLAlchemyError as exc:
        raise StoreUnavailable(f"registry database: {type(exc).__name__}: {getattr(exc, 'orig', None) or exc}") from exc
    finally:
        if owned:
            engine.dispose()
