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
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from clearance.audit.errors import RecordError
from clearance.audit.record import KINDS, AuditRecord
from clearance.ports import AuditStore, StoreRejected

Entry = Any  # (at_ns, kind, body), or what the store's ``prepare`` made of it


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
        self.last_commit: float | None = None  # time.monotonic() of the last durable batch
        self.failing: BaseException | None = None  # the last batch's failure, cleared by a good one
        self.busy_since: float | None = None  # time.monotonic() when the commit in flight began
        self._inflight: list[tuple[Entry, Waiter]] | None = None  # the batch being committed (for the reaper)
        self._reaper: threading.Thread | None = None
        # Observers (metrics): after each batch, (records, seconds, still queued); after a failure, (queued).
        self.on_commit: Callable[[int, float, int], None] | None = None
        self.on_failure: Callable[[int], None] | None = None
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
        ``call_soon_threadsafe``, rather than one cross-thread wake-up per record. Each future
        fails with ``TimeoutError`` once ``timeout_s`` has passed without its record being
        durable: one reaper thread enforces that for all of them, so no caller needs a timer
        of its own on the event loop (a timer handle per call costs more than the settling).
        """
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + self.timeout_s
        waiters = [_LoopWaiter(loop, deadline) for _ in items]
        self._enqueue(items, waiters)
        if self._reaper is None:
            self._start_reaper()
        return [w.future for w in waiters]

    def _start_reaper(self) -> None:
        with self._cond:
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap, name="audit-group-commit-reaper", daemon=True)
                self._reaper.start()

    def _reap(self) -> None:
        """Fail loop waiters whose deadline passed (queued, or in a commit that has not returned)."""
        interval = min(1.0, self.timeout_s / 4)
        while True:
            with self._cond:
                if self._closing and not self._pending and self._inflight is None:
                    return
                now = time.monotonic()
                late = [w for _, w in [*self._pending, *(self._inflight or ())]
                        if type(w) is _LoopWaiter and w.deadline <= now and not w.future.done()]
            if late:
                error = TimeoutError(f"the audit record was not confirmed durable within {self.timeout_s} s")
                by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[AuditRecord], Any]]] = {}
                for waiter in late:
                    by_loop.setdefault(waiter.loop, []).append((waiter.future, error))
                for loop, items in by_loop.items():
                    with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting any more
                        loop.call_soon_threadsafe(_settle_on_loop, items)
            time.sleep(interval)

    def _enqueue(self, items: Sequence[tuple[str, dict[str, Any], int]], waiters: Sequence[Waiter],
                 lazy: bool = False) -> None:
        """Check the items on the caller's thread, then queue them with their waiters for the writer.

        A store that offers ``prepare`` (canonical encoding, the costly part) gets it done here,
        on the appender's thread, while the writer waits on the previous batch's fsync with the
        GIL released: the writer's cycle is then the transaction alone, and a body without a
        canonical form fails its own caller at once.
        """
        _check(items)
        raw = [(at_ns, kind, body) for kind, body, at_ns in items]
        encode = getattr(self.store, "prepare", None)
        if encode is None:
            payloads = raw
        else:
            try:
                payloads = encode(raw)
            except RecordError:
                payloads, waiters = _encode_each(encode, raw, waiters)
        entries = list(zip(payloads, waiters, strict=True))
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
        """``append`` for asyncio code: awaits durability without blocking the event loop.

        Raises ``TimeoutError`` after ``timeout_s`` (the reaper's deadline, see ``submit_async``).
        """
        (future,) = self.submit_async([(kind, body, at_ns)])
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
            self._inflight = live
            try:
                self._commit(live)
            finally:
                self._inflight = None

    @property
    def alive(self) -> bool:
        """The writer thread runs (it only stops after ``close``)."""
        return self._writer.is_alive()

    @property
    def queued(self) -> int:
        """Records waiting for the writer (read without the lock: a gauge, not a promise)."""
        return len(self._pending) + len(self._lazy)

    def _commit(self, live: list[tuple[Entry, Waiter]]) -> None:
        started = time.perf_counter()
        self.busy_since = time.monotonic()
        try:
            records = self.store.append_batch([entry for entry, _ in live])
        except (RecordError, StoreRejected) as exc:
            self.busy_since = None
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
            self.failing, self.busy_since = exc, None
            _settle_all(live, None, exc)
            if self.on_failure is not None:
                _observe(self.on_failure, self.queued)
            return
        self.batches += 1
        self.appended += len(records)
        self.last_commit = time.monotonic()
        self.failing, self.busy_since = None, None
        _settle_all(live, records, None)
        if self.on_commit is not None:
            _observe(self.on_commit, len(records), time.perf_counter() - started, self.queued)


def _encode_each(encode: Callable[[list[Any]], list[Any]], raw: list[Any], waiters: Sequence[Waiter]
                 ) -> tuple[list[Any], list[Waiter]]:
    """Encode entry by entry: a body without a canonical form fails its own waiter, the others go on."""
    payloads, kept = [], []
    for entry, waiter in zip(raw, waiters, strict=True):
        try:
            payloads.append(encode([entry])[0])
        except RecordError as exc:
            (waiter.future if isinstance(waiter, _LoopWaiter) else waiter).set_exception(exc)
            continue
        kept.append(waiter)
    return payloads, kept


def _observe(observer: Callable[..., None], *args: Any) -> None:
    """Call a statistics observer; its failure must never stop the writer thread."""
    try:
        observer(*args)
    except Exception:  # noqa: BLE001 - logged; the records are durable whatever the metrics say
        logging.getLogger(__name__).exception("an audit commit observer failed")


class _LoopWaiter:
    """An asyncio future waiting on the writer thread; settled on its own loop (or failed by the reaper)."""

    __slots__ = ("loop", "future", "deadline")

    def __init__(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        self.loop = loop
        self.deadline = deadline
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
