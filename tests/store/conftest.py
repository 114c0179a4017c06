"""Store fixtures: the same tests run against memory, a SQLite file and PostgreSQL.

PostgreSQL schemas per test come from ``pg_schema_url`` in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from store_testkit import close

from clearance.store import FixedClock, MemoryRegistry
from clearance.store.sql import SqlRegistry, make_engine, migrate, normalize_url


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty, unmigrated SQL database URL: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return normalize_url(tmp_path / "registry.db")
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(1)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def registry(request: pytest.FixtureRequest, clock: FixedClock, tmp_path) -> Iterator[object]:
    """A migrated, empty registry store on each backend, recording at ``clock``'s time."""
    if request.param == "memory":
        yield MemoryRegistry(clock)
        return
    url = normalize_url(tmp_path / "registry.db") if request.param == "sqlite" else request.getfixturevalue(
        "pg_schema_url"
    )
    migrate(url)
    store = SqlRegistry(make_engine(url), clock)
    try:
        yield store
    finally:
        close(store)
