"""Counters for the enforcement tests: memory, SQLite, PostgreSQL and Redis, each shared by two "processes"."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from clearance.enforcement.counters import MemoryCounters, RedisCounters, SqlCounters
from clearance.store.sql import make_engine
from clearance.store.sql.migrate import migrate
from needs import redis_url


def redis_or_skip() -> str:
    return redis_url()


@pytest.fixture(params=["memory", "sqlite", "postgres", "redis"])
def counter_pair(request: pytest.FixtureRequest, tmp_path) -> Iterator[tuple[object, object]]:
    """Two counter clients over one shared store, as two gateway processes would hold them."""
    kind = request.param
    engines = []
    if kind == "memory":
        shared = MemoryCounters()
        pair = (shared, shared)
    elif kind == "redis":
        url = redis_or_skip()
        pair = (RedisCounters(url), RedisCounters(url))
    else:
        url = str(tmp_path / "c.db") if kind == "sqlite" else request.getfixturevalue("pg_schema_url")
        migrate(url)
        engines = [make_engine(url), make_engine(url)]
        pair = (SqlCounters(engines[0]), SqlCounters(engines[1]))
    yield pair  # each test closes them on its own event loop (a Redis client belongs to one loop)
    for engine in engines:
        engine.dispose()


@pytest.fixture
def scope() -> str:
    return f"entity:test-{uuid.uuid4().hex[:8]}/LIC-1"
