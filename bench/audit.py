"""How fast the audit log makes records durable, verifies them and proves them.

    python bench/audit.py [--records 50000] [--backends sqlite,postgres] [--concurrency 256] [--quick]

Why: the gateway answers no request before its decision record is durable, so the log's
durable append rate caps the gateway. Group commit (many waiting appenders, one commit per
batch) is measured side by side with one commit per record, the way a naive log writes.
Appenders are asyncio tasks awaiting ``append_async``, as the gateway's request handlers do.

Also: full verification (recompute every leaf and the tree, check every signed head) in
records/s, and inclusion and consistency proof generation time on the stored log.
Targets: >= 20,000 durable records/s with group commit; verification >= 500,000 records/s.
Everything stays on this machine; every loop is bounded in count and time.

Each rate is printed twice: by the wall clock, and per CPU-second of this process (records
divided by the process CPU time the phase used, all threads). On a machine shared with other
work the wall-clock rate swings with the load; the CPU-time rate is what the code costs. It
leaves out the PostgreSQL server's own CPU (another process), and says nothing about fsync
latency, which with a fixed number of appenders bounds the wall-clock rate by itself:
durable records/s <= appenders / commit latency (Little's law), hence ``--concurrency``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from clearance.audit.group_commit import GroupCommitLog
from clearance.audit.keys import KeyRing
from clearance.audit.verify import verify_log
from clearance.services.audit_log import AuditLog
from clearance.store.clock import SystemClock
from clearance.store.sql import make_engine, migrate
from clearance.store.sql.audit import SqlAuditStore

PG = os.environ.get("CLEARANCE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
CONCURRENCY = 256
SINGLE_BUDGET_S = 10.0
VERIFY_RUNS = 3
AT = 1_782_000_000_000_000_000


def body(n: int) -> dict:
    """A decision record shaped like the gateway's (about 700 bytes canonical)."""
    return {
        "caller": f"k{n % 97:04d}", "source": "gateway",
        "request": {"action": "inference", "at": "2026-07-20T10:00:00Z", "entity": f"entity-{n % 50}",
                    "model": "mythos-5", "use_case": "software-engineering",
                    "person": {"citizenships": ["IN"], "id": f"p-{n % 5000}", "location": "US", "permanent_residency": None}},
        "decision": {"outcome": "permit", "code": "authorized", "authorization": "annex-a", "destinations": ["IN"],
                     "tier": "S-4", "obligations": [{"code": "monitoring"}], "remedies": [],
                     "reasons": [{"code": "authorized", "rule": "annex-a", "message": "exempt for Annex A employees"}],
                     "policy_version": "sha256:" + hashlib.sha256(b"p").hexdigest(), "at": "2026-07-20T10:00:00Z"},
    }


class Database:
    """A fresh SQLite file or PostgreSQL schema, migrated; removed afterwards."""

    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        if backend == "sqlite":
            self.url = f"sqlite:///{workdir / f'audit-{uuid.uuid4().hex[:8]}.db'}"
            self.schema = None
        else:
            self.schema = f"bench_audit_{uuid.uuid4().hex[:10]}"
            admin = make_engine(PG)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            self.url = f"{PG}?options=-csearch_path%3D{self.schema}"
        migrate(self.url)
        self.store = SqlAuditStore(make_engine(self.url))

    def drop(self) -> None:
        self.store.close()
        if self.schema:
            admin = make_engine(PG)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            admin.dispose()


def databases(backends: str, workdir: Path) -> Iterator[Database]:
    """A fresh database per backend named in ``backends`` (comma-separated), dropped after use;
    a backend that cannot be opened is reported as skipped, and the run goes on."""
    for backend in backends.split(","):
        try:
            db = Database(backend, workdir)
        except Exception as exc:  # noqa: BLE001 - report the backend as unavailable and go on
            print(f"{backend}: unavailable ({type(exc).__name__}: {exc}); skipped")
            continue
        try:
            yield db
        finally:
            db.drop()


def group_commit_rate(store: SqlAuditStore, records: int, concurrency: int = CONCURRENCY
                      ) -> tuple[float, float, float, float]:
    """Durable records/s with ``concurrency`` asyncio appenders, by wall clock and per CPU-second;
    also mean batch size and p99 wait (ms)."""
    group = GroupCommitLog(store, max_batch=2048)
    waits: list[float] = []
    bodies = [body(n) for n in range(1000)]  # made up front: the log is measured, not the body factory

    async def appender(start: int) -> None:
        for n in range(start, records, concurrency):
            t = time.perf_counter()
            await group.append_async("decision", bodies[n % 1000], AT + n)
            waits.append(time.perf_counter() - t)

    async def run() -> None:
        await asyncio.gather(*(appender(i) for i in range(concurrency)))

    t0, c0 = time.perf_counter(), time.process_time()
    asyncio.run(run())
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    group.close()
    waits.sort()
    return (records / elapsed, records / cpu, group.appended / max(1, group.batches),
            waits[int(len(waits) * 0.99)] * 1000)


def single_commit_rate(store: SqlAuditStore, limit: int) -> float:
    """Durable records/s committing each record in its own transaction (bounded by count and time)."""
    base = store.size()
    t0 = time.perf_counter()
    done = 0
    while done < limit and time.perf_counter() - t0 < SINGLE_BUDGET_S:
        store.append_batch([(AT + base + done, "decision", body(base + done))])
        done += 1
    return done / (time.perf_counter() - t0)


def verification(log: AuditLog) -> tuple[float, float, float, int]:
    """records/s: verifying from the database (read + hash + tree + heads), and exported lines alone
    (by wall clock and per CPU-second, each the best of ``VERIFY_RUNS``)."""
    log.sign_head()
    size = log.store.size()
    t0 = time.perf_counter()
    report = log.verify()
    from_store = size / (time.perf_counter() - t0)
    assert report.ok, report.message
    raw = log.store.raw(0, size)
    heads, keys = log.store.heads(), log.keys.public_keys()
    wall, cpu = [], []
    for _ in range(VERIFY_RUNS):  # best of a few: one run is a fraction of a second, easily disturbed
        t0, c0 = time.perf_counter(), time.process_time()
        assert verify_log(raw, heads, keys).ok
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return from_store, size / min(wall), size / min(cpu), size


def proofs(log: AuditLog, samples: int = 200) -> tuple[float, float]:
    """Mean ms to build an inclusion proof (random record, latest head) and a consistency proof."""
    head = log.latest_head()
    rng = random.Random(7)
    t0 = time.perf_counter()
    for _ in range(samples):
        log.inclusion(rng.randrange(head.size))
    inclusion_ms = (time.perf_counter() - t0) * 1000 / samples
    old = log.store.heads()[0].size
    t0 = time.perf_counter()
    for _ in range(samples // 10):
        log.consistency(old)
    return inclusion_ms, (time.perf_counter() - t0) * 1000 / (samples // 10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=50_000, help="records appended with group commit per backend")
    ap.add_argument("--single", type=int, default=3_000, help="at most this many one-commit-per-record appends")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--concurrency", type=int, default=CONCURRENCY, help="asyncio appenders awaiting durability")
    ap.add_argument("--quick", action="store_true", help="a few seconds: 5,000 records, 300 single commits")
    args = ap.parse_args()
    if args.quick:
        args.records, args.single = 5_000, 300
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        keys = KeyRing.create(Path(tmp) / "keys")
        for db in databases(args.backends, Path(tmp)):
            single = single_commit_rate(db.store, args.single)
            log = AuditLog(db.store, keys, SystemClock())
            log.sign_head()
            grouped, grouped_cpu, batch, p99 = group_commit_rate(db.store, args.records, args.concurrency)
            from_store, lines, lines_cpu, size = verification(log)
            inclusion_ms, consistency_ms = proofs(log)
            rows.append((db.backend, grouped, grouped_cpu, single, batch, p99, from_store, lines, lines_cpu, size,
                         inclusion_ms, consistency_ms))
    print(f"\naudit log, {args.concurrency} concurrent appenders, {args.records:,} records per backend "
          f"(targets: >= 20,000 durable records/s grouped; verification >= 500,000 records/s); "
          f"wall = by the wall clock, cpu = per CPU-second of this process\n")
    print(f"{'backend':<9} {'grouped/s':>10} {'cpu':>7} {'single/s':>9} {'ratio':>6} {'batch':>6} {'p99 ms':>7} "
          f"{'verify db/s':>11} {'lines/s':>10} {'cpu':>10} {'records':>8} {'incl. ms':>8} {'cons. ms':>8}")
    for backend, grouped, grouped_cpu, single, batch, p99, from_store, lines, lines_cpu, size, inc, con in rows:
        print(f"{backend:<9} {grouped:>10,.0f} {grouped_cpu:>7,.0f} {single:>9,.0f} {grouped / single:>5.0f}x "
              f"{batch:>6.0f} {p99:>7.1f} {from_store:>11,.0f} {lines:>10,.0f} {lines_cpu:>10,.0f} {size:>8,} "
              f"{inc:>8.2f} {con:>8.2f}")
    for backend, grouped, grouped_cpu, _single, _batch, _p99, _db, lines, lines_cpu, *_rest in rows:
        print(f"{backend}: group commit {grouped:,.0f}/s wall ({_met(grouped, 20_000)}), {grouped_cpu:,.0f} per "
              f"CPU-second ({_met(grouped_cpu, 20_000)}); verification {lines:,.0f}/s wall ({_met(lines, 500_000)}), "
              f"{lines_cpu:,.0f} per CPU-second ({_met(lines_cpu, 500_000)})")


def _met(value: float, target: float) -> str:
    return "target met" if value >= target else "target NOT met"


if __name__ == "__main__":
    main()
