"""GroupCommitLog: concurrent appenders, one durable batch at a time, failures reach every waiter."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from audit_store_kit import decision_body, stream_body

from clearance.audit.errors import RecordError
from clearance.audit.group_commit import GroupCommitLog
from clearance.audit.merkle import root
from clearance.audit.record import canonical_bytes, leaf_hash
from clearance.ports import StoreUnavailable
from clearance.store.audit_memory import MemoryAuditStore

THREADS, PER_THREAD = 8, 40


def test_eight_threads_append_contiguously_on_every_backend(audit_store):
    log = GroupCommitLog(audit_store)
    returned: list = []
    lock = threading.Lock()

    def run(worker: int) -> None:
        for n in range(PER_THREAD):
            record = log.append("decision", {**decision_body(n), "worker": worker}, time.time_ns())
            with lock:
                returned.append(record)

    pool = [threading.Thread(target=run, args=(w,)) for w in range(THREADS)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(30)
    log.close()
    total = THREADS * PER_THREAD
    assert sorted(r.seq for r in returned) == list(range(total))
    assert audit_store.size() == total
    raw = audit_store.raw(0, total)
    assert sorted((r.body["worker"], r.body["decision_id"]) for r in audit_store.records(0, total)) == sorted(
        (w, decision_body(n)["decision_id"]) for w in range(THREADS) for n in range(PER_THREAD))
    by_seq = {r.seq: r for r in returned}
    assert all(canonical_bytes(by_seq[i]) == raw[i] for i in range(total))
    leaves = [leaf_hash(data) for data in raw]
    assert audit_store.leaf_hashes(0, total) == leaves
    assert root(audit_store.leaf_hashes(0, total)) == root(leaves)
    assert log.batches < total  # appends were grouped


class FlakyStore(MemoryAuditStore):
    """Fails the batches it is told to, after holding them a moment so waiters pile up."""

    def __init__(self) -> None:
        super().__init__()
        self.fail = threading.Event()
        self.calls = 0

    def append_batch(self, entries):
        self.calls += 1
        time.sleep(0.02)
        if self.fail.is_set():
            raise StoreUnavailable("audit database: disk on fire")
        return super().append_batch(entries)


def test_a_store_error_reaches_every_waiter_of_the_batch_and_later_batches_succeed():
    store = FlakyStore()
    store.fail.set()
    log = GroupCommitLog(store, max_wait_s=0.05)
    futures = log.submit_many([("decision", {"n": n}, n) for n in range(10)])
    futures += [log.submit("decision", {"n": 10}, 10)]
    for f in futures:
        with pytest.raises(StoreUnavailable, match="disk on fire"):
            f.result(timeout=10)
    with pytest.raises(StoreUnavailable):
        log.append("decision", {"n": 11}, 11)
    assert store.size() == 0 and log.appended == 0
    store.fail.clear()
    record = log.append("decision", {"n": 12}, 12)
    assert record.seq == 0 and store.size() == 1
    log.close()


def test_a_bad_body_fails_only_its_own_caller():
    store = MemoryAuditStore()
    log = GroupCommitLog(store, max_wait_s=0.05)
    good = log.submit_many([("decision", {"n": 0}, 0)])
    bad = log.submit("decision", {"n": float("inf")}, 1)
    more = log.submit("decision", {"n": 2}, 2)
    with pytest.raises(RecordError):
        bad.result(timeout=10)
    assert [good[0].result(timeout=10).seq, more.result(timeout=10).seq] == [0, 1]
    with pytest.raises(RecordError):
        log.append("no-such-kind", {}, 3)  # rejected on the caller's thread
    log.close()


def test_append_many_keeps_order_and_close_flushes_then_refuses():
    store = MemoryAuditStore()
    log = GroupCommitLog(store, max_batch=3)
    records = log.append_many([("monitoring", stream_body("w", n), n) for n in range(10)])
    assert [r.seq for r in records] == list(range(10))
    assert [r.body["n"] for r in store.records(0, 10)] == list(range(10))
    pending = log.submit("monitoring", {"last": True}, 11)
    log.close()
    assert pending.result(timeout=5).seq == 10
    with pytest.raises(RuntimeError, match="closed"):
        log.append("monitoring", {}, 12)


def test_append_async_awaits_durability_without_blocking_the_loop():
    store = MemoryAuditStore()
    log = GroupCommitLog(store)

    async def main():
        return await asyncio.gather(*(log.append_async("decision", {"n": n}, n) for n in range(20)))

    records = asyncio.run(main())
    assert sorted(r.seq for r in records) == list(range(20))
    log.close()


def test_a_stuck_store_times_out_rather_than_hanging():
    release = threading.Event()

    class Stuck(MemoryAuditStore):
        def append_batch(self, entries):
            release.wait(60)  # stuck until the test has seen the timeout
            return super().append_batch(entries)

    log = GroupCommitLog(Stuck(), timeout_s=0.1)
    try:
        with pytest.raises(TimeoutError):
            log.append("decision", {}, 1)
    finally:
        release.set()
        log.close()


def test_a_lazy_record_is_written_on_its_own_after_its_wait():
    store = MemoryAuditStore()
    log = GroupCommitLog(store)
    log.lazy_wait_s = 0.02
    future = log.submit_lazy("completion", {"n": 1}, 1)
    assert future.result(timeout=5).seq == 0 and store.size() == 1
    log.close()


def test_a_lazy_record_rides_along_with_the_next_waited_for_record():
    store = MemoryAuditStore()
    log = GroupCommitLog(store)
    log.lazy_wait_s = 30.0  # far longer than the test: only the waited-for append can carry it
    lazy = log.submit_lazy("completion", {"n": 1}, 1)
    urgent = log.append("decision", decision_body(2), 2)
    assert lazy.result(timeout=5).seq == 0 and urgent.seq == 1
    assert log.batches == 1
    log.close()


def test_closing_writes_pending_lazy_records():
    store = MemoryAuditStore()
    log = GroupCommitLog(store)
    log.lazy_wait_s = 30.0
    lazy = log.submit_lazy("completion", {"n": 1}, 1)
    log.close()
    assert lazy.result(timeout=5).seq == 0 and store.size() == 1


def test_an_async_append_to_a_hung_store_times_out_while_the_commit_still_hangs():
    release = threading.Event()

    class Hung(MemoryAuditStore):
        def append_batch(self, entries):
            release.wait(30)
            return super().append_batch(entries)

    log = GroupCommitLog(Hung(), timeout_s=0.1)

    async def main():
        with pytest.raises(TimeoutError):
            await log.append_async("decision", {}, 1)
        return release.is_set()

    try:
        assert asyncio.run(main()) is False  # the reaper failed the caller; the commit had not returned
    finally:
        release.set()
        log.close()
