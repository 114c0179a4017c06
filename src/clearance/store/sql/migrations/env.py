"""Alembic's entry point: runs migrations on the connection ``migrate`` hands over.

``clearance.store.sql.migrate`` puts an open SQLAlchemy Connection in
``config.attributes["connection"]``; the ``alembic`` command line, given a URL in
``sqlalchemy.url``, works too. Offline (``--sql``) mode renders SQL for a DBA to review.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from clearance.store.sql.engine import make_engine
from clearance.store.sql.tables import metadata

config = context.config


def run_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
