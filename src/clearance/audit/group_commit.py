"""Group commit: many concurrent appenders, one durable transaction per batch.

A durable commit costs an fsync (SQLite) or a WAL flush (PostgreSQL), a millisecond or more,
so one commit per audit record caps the log at a few hundred to a few thousand records a
second however fast the disk streams. ``GroupCommitLog`` lets any number of threads call
``append``; one background writer drains everything pending (up to ``max_batch``) into a
single ``AuditStore.append_batch`` and then wakes each waiter with its own record. While a
commit is in flight new appends queue up, so batches grow with the load by themselves;
``max_wait_s`` (default 0) additionally lets a batch gather for a moment before it is written:
it trades every lone append's latency for fewer commits, which only pays when commits are slow.

Fail closed: ``append`` returns only once the record is durable. If the store raises, every
waiter of that batch gets the exception and nothing of the batch is reported as appended
(callers must not answer their client); the next batch is tried afresh. A batch that fails
because of an entry rather than the database (a body without a canonical form, ``RecordError``,
or a value the database refuses, ``StoreRejected``) is retried in halves, down to single
entries, so only the bad entry's caller sees the error and the others are written in few commits. Nothing here reads a clock for records: ``at_ns`` is
an argument.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from clearance.audit.errors import RecordError
from clearance.audit.record import KINDS, AuditRecord
from clearance.ports import AuditStore, StoreRejected

Entry = tuple[int, str, dict[str, Any]]


class GroupCommitLog:
    """Thread-safe, durable appends to ``store`` through one writer thread (see the module docstring).

    ``timeout_s`` bounds how long ``append`` waits for its batch; on timeout it raises
    ``TimeoutError`` and the caller must treat the record as not appended (it may still land).
    """

    def __init__(self, store: AuditStore, max_batch: int = 1024, max_wait_s: float = 0.0,
                 timeout_s: float = 60.0) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.store = store
        self.max_batch = max_batch
        self.max_wait_s = max(0.0, max_wait_s)
        self.timeout_s = timeout_s
        self._pending: list[tuple[Entry, Waiter]] = []
        self._lazy: list[tuple[Entry, Waiter]] = []
        self.lazy_wait_s = 0.05
        self._cond = threading.Condition()
        self._closing = False
        self.batches = 0  # statistics, for benchmarks and tests
        self.appended = 0
        self._writer = threading.Thread(target=self._run, name="audit-group-commit", daemon=True)
        self._writer.start()

    def submit(self, kind: str, body: dict[str, Any], at_ns: int) -> Future[AuditRecord]:
        """Queue one record; the returned future resolves once it is durable (or fails)."""
        return self.submit_many([(kind, body, at_ns)])[0]

    def submit_many(self, items: Sequence[tuple[str, dict[str, Any], int]]) -> list[Future[AuditRecord]]:
        """Queue ``(kind, body, at_ns)`` items together (consecutive seqs unless split by ``max_batch``)."""
        futures: list[Future[AuditRecord]] = [Future() for _ in items]
        self._enqueue(items, futures)
        return futures

    def submit_lazy(self, kind: str, body: dict[str, Any], at_ns: int) -> Future[AuditRecord]:
        """Queue a record nobody waits on (a completion): it rides along with the next batch, or is
        written on its own after ``lazy_wait_s``, so it never costs a waiting caller a commit of its own."""
        future: Future[AuditRecord] = Future()
        self._enqueue([(kind, body, at_ns)], [future], lazy=True)
        return future

    def append(self, kind: str, body: dict[str, Any], at_ns: int) -> AuditRecord:
        """Append one record; return it once durable. Raises the store's error, or ``TimeoutError``."""
        return self._wait(self.submit(kind, body, at_ns))

    def append_many(self, items: Sequence[tuple[str, dict[str, Any], int]]) -> list[AuditRecord]:
        """Append ``(kind, body, at_ns)`` items; return them once all are durable."""
        return [self._wait(f) for f in self.submit_many(items)]

    def submit_async(self, items: Sequence[tuple[str, dict[str, Any], int]]) -> list[asyncio.Future[AuditRecord]]:
        """Like ``submit_many``, for code on a running event loop: asyncio futures of that loop.

        The writer settles all of one batch's futures of a loop with a single
        ``call_soon_threadsafe``, rather than one cross-thread wake-up per record.
        """
        loop = asyncio.get_running_loop()
        waiters = [_LoopWaiter(loop) for _ in items]
        self._enqueue(items, waiters)
        return [w.future for w in waiters]

    def _enqueue(self, items: Sequence[tuple[str, dict[str, Any], int]], waiters: Sequence[Waiter],
                 lazy: bool = False) -> None:
        """Check the items on the caller's thread, then queue them with their waiters for the writer."""
        _check(items)
        entries = [((at_ns, kind, body), w) for (kind, body, at_ns), w in zip(items, waiters, strict=True)]
        with self._cond:
            if self._closing:
                raise RuntimeError("the audit log is closed")
            if lazy:
                self._lazy.extend(entries)
                if len(self._lazy) == len(entries):
                    self._cond.notify_all()  # the first lazy records: the writer starts the lazy clock
            else:
                self._pending.extend(entries)
                self._cond.notify_all()

    async def append_async(self, kind: str, body: dict[str, Any], at_ns: int) -> AuditRecord:
        """``append`` for asyncio code: awaits durability without blocking the event loop."""
        (future,) = self.submit_async([(kind, body, at_ns)])
        # asyncio.timeout, unlike wait_for, wraps no extra task around every append.
        async with asyncio.timeout(self.timeout_s):
            return await future

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop accepting appends, write what is pending, and join the writer (at most ``timeout_s``)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._writer.join(timeout_s)

    def __enter__(self) -> GroupCommitLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, future: Future[AuditRecord]) -> AuditRecord:
        try:
            return future.result(timeout=self.timeout_s)
        except FutureTimeout:
            raise TimeoutError(f"the audit record was not confirmed durable within {self.timeout_s} s") from None

    def _take(self) -> list[tuple[Entry, Waiter]]:
        """Block until something is due (or closing), let the batch gather, and take it.

        Due: anything a caller waits on, or lazy records older than ``lazy_wait_s``. Lazy
        records go first in a batch they join: they were submitted before what is pending.
        """
        with self._cond:
            while not self._pending and not self._closing:
                if self._lazy:
                    if not self._cond.wait(self.lazy_wait_s) and not self._pending:
                        break  # the lazy records waited long enough: write them alone
                else:
                    self._cond.wait(0.5)
            if self.max_wait_s and not self._closing and self._pending and len(self._pending) < self.max_batch:
                # Bounded: one wait of max_wait_s, cut short when the batch fills up.
                self._cond.wait_for(lambda: len(self._pending) >= self.max_batch or self._closing, self.max_wait_s)
            queue = self._lazy + self._pending
            batch, rest = queue[:self.max_batch], queue[self.max_batch:]
            self._lazy, self._pending = [], rest
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                return  # closing and drained
            self._write(batch)

    def _write(self, batch: list[tuple[Entry, Waiter]]) -> None:
        live = [(entry, f) for entry, f in batch if f.set_running_or_notify_cancel()]
        if live:
            self._commit(live)

    def _commit(self, live: list[tuple[Entry, Waiter]]) -> None:
        try:
            records = self.store.append_batch([entry for entry, _ in live])
        except (RecordError, StoreRejected) as exc:
            if len(live) == 1:
                _settle_all(live, None, exc)
                return
            # Nothing of the batch was written (encoding precedes the transaction, and a refused
            # row rolls it back): bisect, so the bad entries are isolated in O(bad x log n) commits.
            half = len(live) // 2
            self._commit(live[:half])
            self._commit(live[half:])
            return
        except BaseException as exc:  # noqa: BLE001 - every waiter must hear of any failure
            _settle_all(live, None, exc)
            return
        self.batches += 1
        self.appended += len(records)
        _settle_all(live, records, None)


class _LoopWaiter:
    """An asyncio future waiting on the writer thread; settled on its own loop."""

    __slots__ = ("loop", "future")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[AuditRecord] = loop.create_future()

    def set_running_or_notify_cancel(self) -> bool:
        return True  # a cancelled awaiter is skipped when settling


Waiter = Future[AuditRecord] | _LoopWaiter


def _settle_all(live: list[tuple[Entry, Waiter]], records: list[AuditRecord] | None, exc: BaseException | None) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[AuditRecord], Any]]] = {}
    for index, (_, waiter) in enumerate(live):
        outcome: Any = exc if records is None else records[index]
        if isinstance(waiter, _LoopWaiter):
            by_loop.setdefault(waiter.loop, []).append((waiter.future, outcome))
        elif records is None:
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting any more
            loop.call_soon_threadsafe(_settle_on_loop, items)


def _settle_on_loop(items: list[tuple[asyncio.Future[AuditRecord], Any]]) -> None:
    for future, outcome in items:
        if future.done():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _check(items: Sequence[tuple[str, dict[str, Any], int]]) -> None:
    """Cheap field checks on the caller's thread, so a wrong kind or instant fails only its caller."""
    for kind, body, at_ns in items:
        if kind not in KINDS or type(at_ns) is not int or at_ns < 0 or not isinstance(body, Mapping):
            AuditRecord(0, at_ns, kind, body)  # raises the RecordError that names the field
