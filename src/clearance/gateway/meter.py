"""Usage counters for ``usage-cap``: tokens per (entity, authorization) per UTC day.

Counters must agree across gateway processes, so they live in Redis when configured
(``INCRBY`` is atomic; a key expires two days after its day), in the database otherwise
(an atomic upsert), and in memory only for a single-process gateway on ``memory:``.
A counter that cannot be read is an error, never zero: the caller answers 503.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from ..ports import StoreUnavailable

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


class UsageMeter(Protocol):
    async def used(self, scope: str, day: str) -> int: ...

    async def add(self, scope: str, day: str, tokens: int) -> int: ...

    async def close(self) -> None: ...


class MemoryMeter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}

    async def used(self, scope: str, day: str) -> int:
        return self._counts.get((scope, day), 0)

    async def add(self, scope: str, day: str, tokens: int) -> int:
        key = (scope, day)
        self._counts[key] = self._counts.get(key, 0) + tokens
        return self._counts[key]

    async def close(self) -> None:
        return None


class RedisMeter:
    PREFIX = "clearance:usage:"

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    async def used(self, scope: str, day: str) -> int:
        try:
            value = await self._redis.get(f"{self.PREFIX}{day}:{scope}")
        except Exception as exc:  # noqa: BLE001 - any Redis failure: fail closed
            raise StoreUnavailable(f"usage counters (redis): {type(exc).__name__}") from exc
        return int(value or 0)

    async def add(self, scope: str, day: str, tokens: int) -> int:
        key = f"{self.PREFIX}{day}:{scope}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incrby(key, tokens)
                pipe.expire(key, 2 * DAY_S)
                total, _ = await pipe.execute()
        except Exception as exc:  # noqa: BLE001
            raise StoreUnavailable(f"usage counters (redis): {type(exc).__name__}") from exc
        return int(total)

    async def close(self) -> None:
        await self._redis.aclose()


class SqlMeter:
    """Counters in the registry database (table ``usage_counters``), one upsert per completion."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def used(self, scope: str, day: str) -> int:
        return await asyncio.to_thread(self._used, scope, day)

    async def add(self, scope: str, day: str, tokens: int) -> int:
        return await asyncio.to_thread(self._add, scope, day, tokens)

    def _used(self, scope: str, day: str) -> int:
        from ..store.sql.tables import usage_counters as U

        try:
            with self._engine.connect() as conn:
                return int(conn.scalar(select(U.c.tokens).where(U.c.scope == scope, U.c.day == day)) or 0)
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"usage counters ({self._engine.dialect.name}): {type(exc).__name__}") from exc

    def _add(self, scope: str, day: str, tokens: int) -> int:
        from ..store.sql.tables import usage_counters as U

        if self._engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(U).values(scope=scope, day=day, tokens=tokens)
        statement = statement.on_conflict_do_update(index_elements=[U.c.scope, U.c.day],
                                                    set_={"tokens": U.c.tokens + statement.excluded.tokens})
        try:
            with self._engine.begin() as conn:
                conn.execute(statement)
                return int(conn.scalar(select(U.c.tokens).where(U.c.scope == scope, U.c.day == day)) or 0)
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"usage counters ({self._engine.dialect.name}): {type(exc).__name__}") from exc

    async def close(self) -> None:
        return None


class BufferedMeter:
    """A per-process front for a shared meter: reads cached briefly, additions sent in batches.

    Without it every capped call costs two round trips to Redis or a database write, which
    cost more than the rest of the enforcement together. Reads are at most ``max_age_s``
    old plus this process's own unsent additions, and additions reach the shared counter
    within ``flush_s``; a cap can therefore be overrun by what other processes spent in the
    last ``max_age_s``, no more than by the calls in flight that any check-then-add allows.
    A counter that cannot be read or written still fails: reads raise, and unsent
    additions are kept and retried.
    """

    def __init__(self, inner: UsageMeter, max_age_s: float = 0.05, flush_s: float = 0.02) -> None:
        self.inner = inner
        self.max_age_s = max_age_s
        self.flush_s = flush_s
        self._seen: dict[tuple[str, str], tuple[int, float]] = {}
        self._unsent: dict[tuple[str, str], int] = {}
        self._flusher: asyncio.Task[None] | None = None

    async def used(self, scope: str, day: str) -> int:
        key = (scope, day)
        loop = asyncio.get_running_loop()
        seen = self._seen.get(key)
        if seen is None or loop.time() - seen[1] > self.max_age_s:
            seen = (await self.inner.used(scope, day), loop.time())
            self._seen[key] = seen
            if len(self._seen) > 100_000:
                self._seen.clear()
        return seen[0] + self._unsent.get(key, 0)

    async def add(self, scope: str, day: str, tokens: int) -> int:
        key = (scope, day)
        self._unsent[key] = self._unsent.get(key, 0) + tokens
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_later())
        seen = self._seen.get(key)
        return (seen[0] if seen else 0) + self._unsent[key]

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.flush_s)
        await self.flush()

    async def flush(self) -> None:
        unsent, self._unsent = self._unsent, {}
        loop = asyncio.get_running_loop()
        for (scope, day), tokens in unsent.items():
            try:
                total = await self.inner.add(scope, day, tokens)
            except Exception:  # noqa: BLE001 - kept for the next flush; the next read fails loudly if still down
                self._unsent[(scope, day)] = self._unsent.get((scope, day), 0) + tokens
                continue
            self._seen[(scope, day)] = (total, loop.time())

    async def close(self) -> None:
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
        await self.flush()
        await self.inner.close()
