"""Helpers shared by the store tests and the writer subprocesses they start."""

from __future__ import annotations

import hashlib
from datetime import datetime

from clearance.ports import RegistryStore
from clearance.store.sql import SqlRegistry, make_engine

COUNTER = ("counter", "shared")


def ns(text: str) -> int:
    """Integer nanoseconds since the epoch for an ISO 8601 instant with an offset."""
    instant = datetime.fromisoformat(text)
    assert instant.tzinfo is not None, text
    return int(instant.timestamp()) * 1_000_000_000 + instant.microsecond * 1000


def stream_body(n: int) -> dict:
    """The body the crash writer stores for change ``n``: self-checking, so a torn row shows."""
    pad = "x" * (50 + n % 200)
    return {"n": n, "pad": pad, "check": hashlib.sha256(f"{n}:{pad}".encode()).hexdigest()}


def body_is_whole(body: dict | None) -> bool:
    if not isinstance(body, dict) or set(body) != {"n", "pad", "check"}:
        return False
    return body == stream_body(body["n"])


def open_sql(url: str) -> SqlRegistry:
    return SqlRegistry(make_engine(url))


def close(store: RegistryStore) -> None:
    engine = getattr(store, "engine", None)
    if engine is not None:
        engine.dispose()
