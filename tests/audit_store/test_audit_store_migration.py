"""Revision 0002 adds the audit tables on top of the registry's 0001, and removes them again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from clearance.store.sql import downgrade, make_engine, migrate, normalize_url
from clearance.store.sql.migrate import current, head
from clearance.store.sql.tables import metadata

AUDIT = {"audit_records", "audit_heads"}


def tables_and_indexes(url: str) -> tuple[set[str], set[str]]:
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        names = set(inspector.get_table_names())
        indexes = {ix["name"] for ix in inspector.get_indexes("audit_records")} if "audit_records" in names else set()
        return names, indexes
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty, unmigrated database: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return normalize_url(tmp_path / "fresh.db")
    return request.getfixturevalue("pg_schema_url")


def test_0002_upgrades_downgrades_to_0001_and_matches_the_tables(fresh_url):
    url = fresh_url
    migrate(url)
    assert current(url) == head()
    names, indexes = tables_and_indexes(url)
    assert AUDIT | {"registry_changes"} <= names
    assert {f"ix_audit_records_{c}" for c in ("at_ns", "entity", "person", "model", "code")} <= indexes
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()
    downgrade(url, "0001")
    assert current(url) == "0001"
    names, _ = tables_and_indexes(url)
    assert not AUDIT & names and "registry_changes" in names
    migrate(url, "0002")
    assert current(url) == "0002"
