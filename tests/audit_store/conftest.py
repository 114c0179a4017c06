"""Audit store fixtures: one contract, three backends (memory, a SQLite file, a PostgreSQL schema).

The backends come from ``any_store_url`` in ``tests/conftest.py``; PostgreSQL cases skip, with
the reason, when no server answers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from audit_store_kit import close, open_store

from clearance.store.sql import normalize_url


@pytest.fixture
def audit_store(any_store_url: str) -> Iterator[object]:
    """A migrated, empty audit store on each backend."""
    store = open_store(any_store_url)
    try:
        yield store
    finally:
        close(store)


@pytest.fixture(params=["sqlite", "postgres"])
def audit_sql_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty, migrated SQL database URL: a SQLite file, then a PostgreSQL schema."""
    url = normalize_url(tmp_path / "audit.db") if request.param == "sqlite" else request.getfixturevalue(
        "pg_schema_url")
    store = open_store(url)
    close(store)
    return url
