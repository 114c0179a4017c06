"""Usage counters for ``usage-cap``: tokens per scope (entity or person, and authorization) per UTC day.

Counters must agree across gateway processes, so they live in Redis when configured (one Lua
script reserves atomically; a key expires two days after its day), in the database otherwise
(one transaction that locks the row, checks and adds), and in memory only for a
single-process deployment. Every reservation goes to the shared counter: a cached or batched
read is exactly the check-then-add that lets concurrent calls overshoot a cap. A counter that
cannot be read or written is an error, never zero: the caller answers 503.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, event, select, text
from sqlalchemy.exc import SQLAlchemyError

from ..ports import StoreUnavailable
from ..store.sql.engine import WRITE, make_engine, unavailable

DAY_S = 86_400
NS = 1_000_000_000


def utc_day(now_ns: int) -> tuple[str, str]:
    """The UTC day of ``now_ns`` and the instant its counters reset (the next midnight, ISO-8601)."""
    return _utc_day(now_ns // (DAY_S * NS))


@functools.lru_cache(maxsize=8)
def _utc_day(day_number: int) -> tuple[str, str]:
    day = datetime.fromtimestamp(day_number * DAY_S, tz=UTC).date()
    reset = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    return day.isoformat(), reset.isoformat().replace("+00:00", "Z")


class UsageCounters(Protocol):
    async def reserve(self, scope: str, day: str, tokens: int, limit: int, least: int) -> tuple[int, int]:
        """Add ``min(tokens, limit - used)`` if that is at least ``least``; return ``(granted, used)``."""
        ...

    async def settle(self, scope: str, day: str, delta: int) -> int:
        """Add ``delta`` (negative: give back) and return the new count."""
        ...

    async def used(self, scope: str, day: str) -> int: ...

    async def close(self) -> None: ...


def _grant(used: int, tokens: int, limit: int, least: int) -> int:
    room = limit - used
    granted = min(tokens, room)
    return granted if granted >= least and granted > 0 else 0


class MemoryCounters:
    """One process's counters; the event loop makes each reservation atomic."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}

    async def reserve(self, scope: str, day: str, tokens: int, limit: int, least: int) -> tuple[int, int]:
        used = self._counts.get((scope, day), 0)
        granted = _grant(used, tokens, limit, least)
        self._counts[(scope, day)] = used + granted
        return granted, used + granted

    async def settle(self, scope: str, day: str, delta: int) -> int:
        key = (scope, day)
        self._counts[key] = max(0, self._counts.get(key, 0) + delta)
        return self._counts[key]

    async def used(self, scope: str, day: str) -> int:
        return self._counts.get((scope, day), 0)

    async def close(self) -> None:
        return None


# KEYS[1] counter; ARGV: tokens, limit, least, ttl. Returns {granted, used after}.
_RESERVE_LUA = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local room = tonumber(ARGV[2]) - used
local granted = math.min(tonumber(ARGV[1]), room)
if granted < tonumber(ARGV[3]) or granted <= 0 then return {0, used} end
used = redis.call('INCRBY', KEYS[1], granted)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return {granted, used}
"""
# A give-back never takes a counter below zero (a day's key may have expired meanwhile).
_SETTLE_LUA = """
local used = redis.call('INCRBY', KEYS[1], ARGV[1])
if used < 0 then redis.call('SET', KEYS[1], 0) used = 0 end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return used
"""


class RedisCounters:
    PREFIX = "clearance:usage:"

    def __init__(self, url: str, prefix: str = PREFIX) -> None:
        import redis.asyncio as aioredis

        self.prefix = prefix  # the deployment's namespace: deployments sharing one Redis keep apart

        # A blocking pool: under a burst a reservation waits (at most 2 s) for a free connection
        # rather than failing with "too many connections", which would answer 503.
        pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=128, timeout=2, socket_timeout=2,
                                                        socket_connect_timeout=2)
        self._redis = aioredis.Redis(connection_pool=pool)
        self._reserve = self._redis.register_script(_RESERVE_LUA)
        self._settle = self._redis.register_script(_SETTLE_LUA)

    async def reserve(self, scope: str, day: str, tokens: int, limit: int, least: int) -> tuple[int, int]:
        try:
            granted, used = await self._reserve(keys=[self.prefix + day + ":" + scope], args=[tokens, limit, least, 2 * DAY_S])
        except Exception as exc:  # noqa: BLE001 - any Redis failure: fail closed
            raise StoreUnavailable(f"usage counters (redis): {type(exc).__name__}") from exc
        return int(granted), int(used)

    async def settle(self, scope: str, day: str, delta: int) -> int:
        try:
            return int(await self._settle(keys=[self.prefix + day + ":" + scope], args=[delta, 2 * DAY_S]))
        except Exception as exc:  # noqa: BLE001
            raise StoreUnavailable(f"usage counters (redis): {type(exc).__name__}") from exc

    async def used(self, scope: str, day: str) -> int:
        try:
            value = await self._redis.get(self.prefix + day + ":" + scope)
        except Exception as exc:  # noqa: BLE001
            raise StoreUnavailable(f"usage counters (redis): {type(exc).__name__}") from exc
        return int(value or 0)

    async def ping(self) -> None:
        """Readiness: raises when Redis does not answer (within the client's 2 s socket timeout)."""
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose(close_connection_pool=True)  # the pool was given, so it is ours to close


class SqlCounters:
    """Counters in the registry database (table ``usage_counters``).

    A reservation is one transaction: insert the day's row if absent, lock it (SQLite's
    ``BEGIN IMMEDIATE``; PostgreSQL ``SELECT … FOR UPDATE``), check the room, add. On SQLite
    the counter connections commit with ``synchronous=NORMAL``: in WAL mode that survives a
    process crash, and a power loss could forget the last few reservations, not the audit log
    (whose connections stay ``FULL``).
    """

    def __init__(self, engine: Engine) -> None:
        self._postgres = engine.dialect.name == "postgresql"
        self._engine = engine if self._postgres else make_engine(engine.url.render_as_string(hide_password=False))
        if not self._postgres:
            event.listen(self._engine, "connect", _relaxed_sync)

    async def reserve(self, scope: str, day: str, tokens: int, limit: int, least: int) -> tuple[int, int]:
        return await asyncio.to_thread(self._reserve, scope, day, tokens, limit, least)

    async def settle(self, scope: str, day: str, delta: int) -> int:
        return await asyncio.to_thread(self._settle, scope, day, delta)

    async def used(self, scope: str, day: str) -> int:
        return await asyncio.to_thread(self._used, scope, day)

    def _reserve(self, scope: str, day: str, tokens: int, limit: int, least: int) -> tuple[int, int]:
        with self._transaction() as conn:
            used = self._locked(conn, scope, day)
            granted = _grant(used, tokens, limit, least)
            if granted:
                conn.execute(text("UPDATE usage_counters SET tokens = tokens + :n WHERE scope = :s AND day = :d"),
                             {"n": granted, "s": scope, "d": day})
            return granted, used + granted

    def _settle(self, scope: str, day: str, delta: int) -> int:
        with self._transaction() as conn:
            used = max(0, self._locked(conn, scope, day) + delta)
            conn.execute(text("UPDATE usage_counters SET tokens = :n WHERE scope = :s AND day = :d"),
                         {"n": used, "s": scope, "d": day})
            return used

    def _used(self, scope: str, day: str) -> int:
        from ..store.sql.tables import usage_counters as U

        try:
            with self._engine.connect() as conn:
                return int(conn.scalar(select(U.c.tokens).where(U.c.scope == scope, U.c.day == day)) or 0)
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"usage counters ({self._engine.dialect.name}): {type(exc).__name__}") from exc

    def _locked(self, conn: Connection, scope: str, day: str) -> int:
        conn.execute(text("INSERT INTO usage_counters (scope, day, tokens) VALUES (:s, :d, 0) ON CONFLICT DO NOTHING"),
                     {"s": scope, "d": day})
        lock = " FOR UPDATE" if self._postgres else ""
        return int(conn.scalar(text(f"SELECT tokens FROM usage_counters WHERE scope = :s AND day = :d{lock}"),
                               {"s": scope, "d": day}) or 0)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with unavailable(self._engine, "usage counters"), \
                self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            yield conn

    async def close(self) -> None:
        if not self._postgres:
            self._engine.dispose()


def _relaxed_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
