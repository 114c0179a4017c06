"""Liveness and readiness that tell the truth.

``/livez`` answers while the process can run a handler at all: a load balancer or
orchestrator restarts a process that stops answering it, nothing else.

``/readyz`` answers 200 only when this process can serve a model call with its durable
record, and 503 naming every part that cannot otherwise, so a load balancer stops sending
calls to a gateway that cannot record them:

- ``store``: the registry database answers a read;
- ``audit``: the audit writer thread runs, its last batch did not fail (or the store answers
  again, so the next one will be tried afresh), and no commit has hung longer than ``stall_s``;
- ``events``: the change-event listener is subscribed (Redis or PostgreSQL buses);
- ``counters``: the usage-cap counters answer (Redis);
- ``registry``: the live snapshot rebuilt without error, and has not trailed the store for
  longer than ``max_lag_s``.

Every probe is bounded by ``timeout_s`` and at most one probe per part is in flight: a
store that has stopped answering costs one waiting thread, however often the check runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .logs import redact


@dataclass
class Parts:
    """What readiness looks at, as plain callables (so this module imports no adapter)."""

    latest_seq: Callable[[], int]  # the store's newest change number (a blocking read)
    live_seq: Callable[[], int]  # the change number this process decides with
    live_error: Callable[[], BaseException | None]
    audit: Any  # a GroupCommitLog: alive, failing, busy_since
    bus: Any = None  # an EventBus; those with a ``ready`` property are checked
    counters_ping: Callable[[], Awaitable[Any]] | None = None


@dataclass
class Readiness:
    parts: Parts
    timeout_s: float = 2.0
    stall_s: float = 5.0
    max_lag_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _inflight: dict[str, asyncio.Future[Any]] = field(default_factory=dict)
    _behind_since: float | None = None

    async def check(self) -> tuple[bool, dict[str, str]]:
        """``(ready, {part: "ok" | what is wrong})``."""
        report: dict[str, str] = {}
        latest: int | None = None
        try:
            latest = await self._probe("store", lambda: asyncio.to_thread(self.parts.latest_seq))
            report["store"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure is the answer
            report["store"] = _why(exc)
        report["audit"] = self._audit(report["store"] == "ok")
        report["events"] = self._events()
        report["counters"] = await self._counters()
        report["registry"] = self._registry(latest)
        return all(v == "ok" for v in report.values()), report

    async def _probe(self, name: str, start: Callable[[], Awaitable[Any]]) -> Any:
        running = self._inflight.get(name)
        if running is None or running.done():
            running = self._inflight[name] = asyncio.ensure_future(start())
        # shield: a probe that times out keeps running (its thread cannot be killed); the next check joins it.
        async with asyncio.timeout(self.timeout_s):
            return await asyncio.shield(running)

    def _audit(self, store_ok: bool) -> str:
        group = self.parts.audit
        if not group.alive:
            return "the audit writer has stopped"
        busy = group.busy_since
        if busy is not None and self.clock() - busy > self.stall_s:
            return f"an audit commit has not returned for {self.clock() - busy:.1f} s"
        if group.failing is not None and not store_ok:
            return f"the last audit commit failed: {_why(group.failing)}"
        return "ok"

    def _events(self) -> str:
        ready = getattr(self.parts.bus, "ready", None)
        if ready is None or ready:
            return "ok"
        return "the change-event listener is not connected"

    async def _counters(self) -> str:
        if self.parts.counters_ping is None:
            return "ok"
        try:
            await self._probe("counters", self.parts.counters_ping)
        except Exception as exc:  # noqa: BLE001
            return _why(exc)
        return "ok"

    def _registry(self, latest: int | None) -> str:
        error = self.parts.live_error()
        if error is not None:
            return f"the registry snapshot could not be rebuilt: {_why(error)}"
        if latest is None:
            return "ok" if self._behind_since is None else "unknown: the store does not answer"
        now = self.clock()
        if latest <= self.parts.live_seq():
            self._behind_since = None
            return "ok"
        if self._behind_since is None:
            self._behind_since = now
        behind = now - self._behind_since
        if behind > self.max_lag_s:
            return f"the registry snapshot (change {self.parts.live_seq()}) has trailed the store ({latest}) for {behind:.1f} s"
        return "ok"


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return "not answering (timed out)"
    text = redact(str(exc).splitlines()[0]) if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
