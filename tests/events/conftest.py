"""Buses for the event tests: one per transport, each on a private channel.

Redis and PostgreSQL come from ``CLEARANCE_TEST_REDIS_URL`` and
``CLEARANCE_TEST_PG_URL`` (defaults: the local services CI runs); a transport
that cannot be reached is skipped with a message naming the URL.
"""

from __future__ import annotations

import functools
import os
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from clearance.events import EventBus, make_bus
from needs import missing

URLS = {
    "memory": "memory:",
    "redis": os.environ.get("CLEARANCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "postgres": os.environ.get("CLEARANCE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
}


@functools.cache
def unreachable(kind: str) -> str | None:
    """Why the ``kind`` service cannot be used, or None if it answers."""
    url = URLS[kind]
    try:
        if kind == "redis":
            import redis

            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
            try:
                client.ping()
            finally:
                client.close()
        elif kind == "postgres":
            import psycopg

            from clearance.events.postgres_bus import conninfo

            psycopg.connect(conninfo(url), connect_timeout=2).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "skip", with the reason
        return f"{kind} not reachable at {url} ({type(exc).__name__}: {exc}); set CLEARANCE_TEST_{'PG' if kind == 'postgres' else 'REDIS'}_URL"
    return None


def require_service(kind: str) -> str:
    reason = unreachable(kind)
    if reason:
        missing("postgres" if kind == "postgres" else "redis", reason)
    return URLS[kind]


def fresh_channel() -> str:
    return f"clearance_test_{uuid.uuid4().hex[:12]}"


def poll_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; returns whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


@pytest.fixture(params=["memory", "redis", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param != "memory":
        require_service(request.param)
    return request.param


@pytest.fixture
def channel() -> str:
    return fresh_channel()


@pytest.fixture
def bus(kind: str, channel: str) -> Iterator[EventBus]:
    bus = make_bus(URLS[kind], channel=channel)
    yield bus
    bus.close()


@pytest.fixture
def wait_until() -> Callable[..., bool]:
    """``wait_until(predicate, timeout=5.0) -> bool``: every wait in these tests is bounded."""
    return poll_until


@pytest.fixture
def require() -> Callable[[str], str]:
    """``require(kind) -> url``: the service's URL, or skip the test saying why it is unreachable."""
    return require_service
