"""Revocation in force on return: no call is decided on a registry older than its own arrival.

Before deciding, a call waits for a read of the shared registry's latest seq that *began
after the call arrived*; if that seq is newer than the live snapshot, the snapshot (and with
it every cached identity) is rebuilt first. An admin change has committed before its call
returns, so any call that arrives afterwards, in any process, sees it. Change events and
polling still keep idle processes current; this is what makes it exact.

Reads are shared: all calls waiting when a read starts are served by it, so under load
the cost is one ``max(seq)`` per round trip, not per call. An unreadable store raises
``StoreUnavailable`` (the call is refused, never decided on stale state).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..ports import StoreUnavailable


class Freshness:
    def __init__(self, latest_seq: Callable[[], int], current_seq: Callable[[], int],
                 refresh: Callable[[], object], offload: bool = True) -> None:
        self._latest_seq = latest_seq
        self._current_seq = current_seq
        self._refresh = refresh
        self._offload = offload  # read on a thread (a server round trip) or inline (memory, SQLite)
        self._waiting: list[asyncio.Future[None]] = []
        self._reader: asyncio.Task[None] | None = None
        self.reads = 0  # statistics, for benchmarks

    async def ensure(self) -> None:
        """Return once the live snapshot is at least as new as the store was when this was called."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.ensure_future(self._read_rounds())
        await future

    async def _read_rounds(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._round()
            except BaseException as exc:  # noqa: BLE001 - each waiter hears of the failure
                failure = exc if isinstance(exc, StoreUnavailable) else StoreUnavailable(f"registry version: {exc}")
                for future in batch:
                    if not future.done():
                        future.set_exception(failure)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for future in batch:
                if not future.done():
                    future.set_result(None)

    async def _round(self) -> None:
        self.reads += 1
        latest = await asyncio.to_thread(self._latest_seq) if self._offload else self._latest_seq()
        if latest > self._current_seq():
            await asyncio.to_thread(self._refresh)  # a rebuild must not hold up the other calls in flight
            if latest > self._current_seq():
                raise StoreUnavailable(f"the registry snapshot could not be brought to version {latest}")
