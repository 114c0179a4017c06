"""How fast a registry change reaches a decision in another process, and how long a big snapshot takes.

    python bench/propagation.py [--changes 200] [--backends sqlite,postgres,redis] [--quick]

Why: a suspension or a revoked licence is only as good as the moment the gateway
enforces it. A writer process alternately suspends and lifts the coverage of a
trusted foreign research institute; a follower process (built like a gateway:
``build_app`` + a watcher) decides a probe request after every refresh and
prints the instant its answer flips. The lag is that instant minus the instant
the writer's commit returned (same machine, same wall clock).

Backends: SQLite + polling (in-process events cannot cross processes, so a
SQLite follower polls `max(seq)` every 0.05 s), PostgreSQL + LISTEN/NOTIFY, and a SQLite
store + Redis pub/sub. Targets: p99 < 1 s everywhere, < 100 ms on PostgreSQL and
Redis. Also: rebuilding a snapshot with 10,000 entities, 100,000 people and
1,000 licences. All traffic stays on 127.0.0.1; every loop is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from clearance.core.decide import decide_json
from clearance.events.watcher import Watcher
from clearance.settings import Settings
from clearance.wiring import build_app

PG = os.environ.get("CLEARANCE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("CLEARANCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PROBE = {"model": "mythos-5", "entity": "vector-institute", "use_case": "research", "person": {"citizenships": ["CA"], "location": "CA"}}
TIMEOUT_S = 5.0


def follower(database: str, events: str, poll: float) -> None:
    """Print one JSON line each time the probe's decision changes, until stdin closes."""
    built = build_app(Settings(database_url=database, events_url=events))
    last = None

    def on_change(_seq: int) -> int:
        nonlocal last
        built.live.refresh()
        code = decide_json(built.live.current(), PROBE, time.time_ns()).code
        if code != last:
            last = code
            print(json.dumps({"code": str(code), "t_ns": time.time_ns()}), flush=True)
        return built.live.seq

    on_change(0)
    with Watcher(built.bus, built.service.store.latest_seq, on_change, poll_interval=poll, since=built.live.seq):
        sys.stdin.read()  # the writer closes our stdin when it is done
    built.close()


def measure(name: str, database: str, events: str, poll: float, changes: int) -> dict:
    built = build_app(Settings(database_url=database, events_url=events))
    child = subprocess.Popen(
        [sys.executable, __file__, "--follower", database, events, str(poll)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    first = json.loads(child.stdout.readline())
    assert first["code"] == "authorized", first
    lags, deadline = [], time.monotonic() + 60 + changes * TIMEOUT_S
    key = None
    for i in range(changes):
        if time.monotonic() > deadline:
            break
        if key is None:
            key = f"SUS-{uuid.uuid4().hex[:8]}"
            body = {"authorization": "trusted-foreign-research", "entity": "vector-institute", "reason": "bench"}
            body["from"] = _iso(time.time_ns())
            built.service.suspend(key, body, actor="bench", reason=f"change {i}")
            want = "authorization-suspended"
        else:
            built.service.retire("suspension", key, actor="bench", reason=f"change {i}")
            key, want = None, "authorized"
        committed = time.time_ns()
        seen = json.loads(child.stdout.readline())
        if seen["code"] != want:
            raise SystemExit(f"{name}: follower saw {seen['code']}, expected {want}")
        lags.append(max(0, seen["t_ns"] - committed) / 1e6)
    child.stdin.close()
    child.wait(timeout=10)
    built.close()
    lags.sort()
    pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]  # noqa: E731
    return {"backend": name, "changes": len(lags), "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": lags[-1]}


def _iso(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def pg_schema_url() -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = PG.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"clearance_bench_{uuid.uuid4().hex[:8]}"
    with create_engine(base).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def rebuild_at_scale(entities: int, people: int, licences: int) -> dict:
    """Time a snapshot of a registry holding many entities, people and licences."""
    from clearance.ports import Change
    from clearance.registry.service import RegistryService
    from clearance.store.clock import SystemClock
    from clearance.store.sql.engine import make_engine
    from clearance.store.sql.migrate import migrate
    from clearance.store.sql.registry import SqlRegistry

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scale.db"
        migrate(url)
        store = SqlRegistry(make_engine(url), SystemClock())
        now = time.time_ns()
        t0 = time.perf_counter()
        batch: list[Change] = []

        def put(kind: str, key: str, body: dict) -> None:
            batch.append(Change(kind, key, "put", body, now, "bench", "scale"))
            if len(batch) >= 5_000:
                store.append(batch)
                batch.clear()

        for i in range(entities):
            put("entity", f"org-{i}", {"name": f"Org {i}", "country": "CA", "kind": "company", "facts": {"cmmc_level": 3, "conduct_commitment": True, "audit_access": True}})
        for i in range(people):
            put("person", f"p-{i}", {"entity": f"org-{i % entities}", "citizenships": ["CA"], "location": "CA"})
        for i in range(licences):
            put("authorization", f"LIC-{i}", {
                "kind": "individual-licence", "models": ["gpt-5.6-terra"], "valid": {"from": "2026-07-01T00:00:00Z"},
                "covers": {"entities": [f"org-{(i * 7 + j) % entities}" for j in range(5)]},
                "use_cases": {"use_cases": ["general"]}, "obligations": [{"code": "monitoring"}],
            })
        if batch:
            store.append(batch)
        loaded = time.perf_counter() - t0
        service = RegistryService(store, SystemClock())
        rows = len(service.state())
        t0 = time.perf_counter()
        service.policy_state(None)
        read = time.perf_counter() - t0
        t0 = time.perf_counter()
        policy = service.snapshot()
        total = time.perf_counter() - t0
        assert len(policy.entities) >= entities
        return {"entities": entities, "people": people, "licences": licences, "rows": rows,
                "load_s": loaded, "state_read_s": read, "snapshot_s": total}


def freshness_cost(database: str, calls: int = 2000) -> dict:
    """What the revocation guarantee costs a call: the registry version read before each decision.

    Measured alone (no HTTP): ``calls`` sequential checks, then the same number 64 at a time,
    where concurrent calls share one read.
    """
    import asyncio

    with build_app(Settings(database_url=database)) as app:
        freshness = app.enforcer.freshness

        async def run(concurrency: int) -> tuple[float, int]:
            reads = freshness.reads
            t0 = time.perf_counter()
            for _ in range(calls // concurrency):
                await asyncio.gather(*(freshness.ensure() for _ in range(concurrency)))
            return (time.perf_counter() - t0) / calls * 1e6, freshness.reads - reads

        async def both() -> dict:
            one_us, one_reads = await run(1)
            many_us, many_reads = await run(64)
            return {"sequential_us_per_call": one_us, "sequential_reads": one_reads,
                    "concurrent64_us_per_call": many_us, "concurrent64_reads": many_reads, "calls": calls}

        return asyncio.run(both())


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--follower":
        follower(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--changes", type=int, default=200)
    ap.add_argument("--backends", default="sqlite,postgres,redis")
    ap.add_argument("--quick", action="store_true", help="20 changes and a smaller scale test")
    args = ap.parse_args()
    changes = 20 if args.quick else args.changes
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        configs = {
            "sqlite + polling (0.05 s)": (f"sqlite:///{Path(tmp) / 'sqlite.db'}", "memory:", 0.05),
            "postgres + LISTEN/NOTIFY": (None, PG, 1.0),
            "sqlite + redis pub/sub": (f"sqlite:///{Path(tmp) / 'redis.db'}", REDIS, 1.0),
        }
        wanted = {"sqlite": 0, "postgres": 1, "redis": 2}
        for name, (db, events, poll) in configs.items():
            if list(configs).index(name) not in {wanted[b] for b in args.backends.split(",")}:
                continue
            database = db or pg_schema_url()
            results.append(measure(name, database, events, poll, changes))
            r = results[-1]
            target = 100.0 if ("postgres" in name or "redis" in name) else 1000.0
            verdict = "MET" if r["p99_ms"] < target else "NOT MET"
            print(f"{name:28s} {r['changes']:4d} changes  p50 {r['p50_ms']:8.1f} ms  p99 {r['p99_ms']:8.1f} ms  "
                  f"max {r['max_ms']:8.1f} ms   target p99 < {target:g} ms: {verdict}", flush=True)
        for name, database in (("sqlite", f"sqlite:///{Path(tmp) / 'fresh.db'}"), ("postgres", None)):
            if name in args.backends.split(","):
                f = freshness_cost(database or pg_schema_url())
                print(f"registry version check before each call ({name}): {f['sequential_us_per_call']:.0f} µs a call "
                      f"one at a time; {f['concurrent64_us_per_call']:.1f} µs a call 64 at a time "
                      f"({f['concurrent64_reads']} reads for {f['calls']} calls)", flush=True)
                results.append({"freshness": name, **f})
    scale = (1_000, 10_000, 100) if args.quick else (10_000, 100_000, 1_000)
    s = rebuild_at_scale(*scale)
    print(f"snapshot with {s['entities']:,} entities, {s['people']:,} people, {s['licences']:,} licences: "
          f"{s['snapshot_s']:.2f} s (of which reading the policy records {s['state_read_s']:.2f} s; {s['rows']:,} rows in all, loaded in {s['load_s']:.1f} s)")
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "propagation.json").write_text(json.dumps({"propagation": results, "scale": s}, indent=2))


if __name__ == "__main__":
    main()
