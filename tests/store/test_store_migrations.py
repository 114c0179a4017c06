"""The registry schema's Alembic migrations: from empty, down to base, and up again."""

from __future__ import annotations

from importlib.resources import files

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from clearance.ports import StoreUnavailable
from clearance.store.sql import downgrade, make_engine, migrate
from clearance.store.sql.migrate import current, head
from clearance.store.sql.tables import metadata


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_apply_from_empty_downgrade_and_apply_again(database):
    assert "registry_changes" not in tables(database)
    assert current(database) is None
    migrate(database)
    assert {"registry_changes", "alembic_version"} <= tables(database)
    assert current(database) == head()
    migrate(database)  # already at head: nothing to do
    assert current(database) == head()
    downgrade(database)
    assert "registry_changes" not in tables(database)
    assert current(database) is None
    migrate(database)
    assert "registry_changes" in tables(database)
    engine = make_engine(database)
    try:
        indexes = {ix["name"] for ix in inspect(engine).get_indexes("registry_changes")}
    finally:
        engine.dispose()
    assert {"ix_registry_changes_entity", "ix_registry_changes_recorded_at"} <= indexes


def test_the_migrated_schema_matches_the_table_the_code_queries(database):
    migrate(database)
    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diffs == []


def test_migrations_ship_inside_the_package():
    location = files("clearance.store.sql") / "migrations"
    assert (location / "env.py").is_file()
    assert (location / "script.py.mako").is_file()
    assert (location / "versions" / "0001_registry_changes.py").is_file()


def test_an_unreachable_database_is_reported_as_unavailable():
    with pytest.raises(StoreUnavailable, match="registry database"):
        migrate("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
