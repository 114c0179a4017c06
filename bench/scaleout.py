"""Several gateways behind nginx: requests/s and added latency with 1, 2 and 3 ``clearance serve`` processes.

    python bench/scaleout.py [--duration 5] [--concurrency 16,64] [--processes 1,2,3] [--quick]

Each process runs compose's gateway command and environment (``deploy/local_stack.py``, one
worker each) on one PostgreSQL database (a scratch one beside ``CLEARANCE_TEST_PG_URL``'s, default
``postgresql://postgres@127.0.0.1:5432/test``, dropped at the end: a database, not a schema, so
no other session's audit writer shares its advisory lock) and Redis (events and
usage counters), behind nginx on ``deploy/nginx.conf``, in front of the fast mock model
(``bench/mock_upstream.py``). Every call is decided, its decision record committed to
PostgreSQL before it is forwarded, metered against a usage cap on Redis, and its completion
recorded, exactly as in ``bench/gateway.py``. Load: ``wrk`` (Debian: ``apt-get install wrk``),
one thread, bounded by its duration; all on 127.0.0.1.

Peers measured side by side in the same run: the mock called directly (the added latency is a
row's percentile minus this one's), the mock behind nginx (what nginx alone adds), and one
gateway without nginx. Each process has its own audit writer (a group-commit thread); all
writers take one PostgreSQL advisory lock per commit, so the log's seqs stay contiguous: the
commit columns show, per run, the commits per second, records per commit and the mean commit
time (lock wait included) that the processes reported on ``/metrics``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from gateway import BENCH_LICENCE, PLAIN_BODY, Run, Target, cpu_ticks, free_port, lua, start, wait_http, wrk

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "deploy"))
import local_stack as stack  # noqa: E402 - deploy/local_stack.py, through the path above

PG = os.environ.get("CLEARANCE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("CLEARANCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class Commits:
    count: float = 0.0
    seconds: float = 0.0
    records: float = 0.0

    def __sub__(self, other: Commits) -> Commits:
        return Commits(self.count - other.count, self.seconds - other.seconds, self.records - other.records)


def commits(gateways: list[stack.Gateway], admin: str) -> Commits:
    """The audit writers' commit counters, summed over the processes (each scraped on its admin port)."""
    total = Commits()
    for gateway in gateways:
        text = httpx.get(gateway.admin + "/metrics", headers={"Authorization": f"Bearer {admin}"}, timeout=30).text

        def value(name: str) -> float:
            found = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)  # noqa: B023 - used at once
            return float(found.group(1)) if found else 0.0
        total.count += value("clearance_audit_commit_seconds_count")
        total.seconds += value("clearance_audit_commit_seconds_sum")
        total.records += value("clearance_audit_records_total")
    return total


def measure(url: str, token: str, work: Path, name: str, connections: int, seconds: float,
            processes: list[subprocess.Popen]) -> tuple[Run, float | None]:
    """One wrk run; the CPU the given server processes spent per request (ms), when there are any."""
    script = lua(work / f"{name}.lua", PLAIN_BODY, token)
    before = [cpu_ticks(p) for p in processes]
    run = wrk(Target(name, url, token, None), script, connections, seconds)
    after = [cpu_ticks(p) for p in processes]
    cpu = None
    if processes and None not in before and None not in after and run.rps:
        ticks = sum(after) - sum(before)  # type: ignore[arg-type]
        cpu = ticks * 1000 / os.sysconf("SC_CLK_TCK") / (run.rps * max(1, round(seconds)))
    return run, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=5.0, help="seconds of load per measurement")
    ap.add_argument("--concurrency", default="16,64")
    ap.add_argument("--processes", default="1,2,3")
    ap.add_argument("--quick", action="store_true", help="2 s runs at concurrency 16")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/scaleout.py needs wrk (Debian: apt-get install wrk)")
    nginx_bin = stack.nginx_binary()
    if nginx_bin is None:
        sys.exit("bench/scaleout.py needs nginx (Debian: apt-get install nginx-light)")
    if args.quick:
        args.duration, args.concurrency = 2.0, "16"
    levels = [int(c) for c in args.concurrency.split(",")]
    load_before = os.getloadavg()[0]
    counts = [int(n) for n in args.processes.split(",")]
    rows: list[tuple[str, int, Run, float | None, Commits | None]] = []
    floor: dict[str, list[float]] = {}

    def show(name: str, c: int, run: Run, cpu: float | None, done: Commits | None) -> None:
        rows.append((name, c, run, cpu, done))
        print(f"{name:<24} c={c:<3} {run.rps:>8,.0f} req/s  p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:7.2f} ms"
              f"  errors {run.errors}", flush=True)

    with tempfile.TemporaryDirectory(prefix="clearance-scaleout-") as tmp, stack.scratch_database(PG, "clearance_scaleout") as db:
        work = Path(tmp)
        upstream_port = free_port()
        mock = start([sys.executable, str(HERE / "mock_upstream.py"), "--port", str(upstream_port)], work, "mock")
        try:
            wait_http(f"http://127.0.0.1:{upstream_port}/v1/models", mock, 20, work / "mock.log")
            (work / "gateway.yaml").write_text(
                (stack.DEPLOY / "gateway.yaml").read_text()
                + f"upstreams:\n  - name: mock\n    base_url: http://127.0.0.1:{upstream_port}/v1\n"
                  f"    models: [{PLAIN_BODY['model']}]\ndefault_upstream: none\n")
            env = stack.compose_env(db, REDIS, work / "keys", work / "gateway.yaml")
            stack.run_init(env, work)
            floor = pg_commit_ms(db)
            direct = f"http://127.0.0.1:{upstream_port}/v1/chat/completions"
            for c in levels:
                wrk(Target("warm", direct, "none", None), lua(work / "warm.lua", PLAIN_BODY, "none"), 4, 1.0)
                show("mock direct", c, *measure(direct, "none", work, "direct", c, args.duration, []), None)
            mock_nginx = stack.start_nginx(nginx_bin, [upstream_port], work / "nginx-mock")
            try:
                for c in levels:
                    show("nginx -> mock", c, *measure(mock_nginx.base + "/v1/chat/completions", "none", work, "nm", c,
                                                       args.duration, []), None)
            finally:
                stack.stop(mock_nginx.process)
            admin = token = None
            for n in [0, *counts]:  # 0: one gateway called without nginx
                gateways = [stack.start_gateway(f"gw{n}-{i}", env, work, workers=1) for i in range(max(1, n))]
                proxy = None
                try:
                    with concurrent.futures.ThreadPoolExecutor(len(gateways)) as pool:
                        list(pool.map(stack.wait_ready, gateways))
                    if admin is None:
                        admin = next(t for g in gateways if (t := g.printed(r"admin token \(shown once\): (\S+)")))
                        token = make_key(gateways[0], admin)
                    if n:
                        proxy = stack.start_nginx(nginx_bin, [g.port for g in gateways], work / f"nginx-{n}")
                        base, name = proxy.base, f"nginx -> {n} gateway{'s' if n > 1 else ''}"
                    else:
                        base, name = gateways[0].base, "1 gateway, no nginx"
                    url = base + "/v1/chat/completions"
                    wrk(Target("warm", url, token, None), lua(work / "warm.lua", PLAIN_BODY, token), 4, 1.0)
                    for c in levels:
                        before = commits(gateways, admin)
                        run, cpu = measure(url, token, work, f"gw{n}", c, args.duration, [g.process for g in gateways])
                        show(name, c, run, cpu, commits(gateways, admin) - before)
                finally:
                    if proxy is not None:
                        stack.stop(proxy.process)
                    for g in gateways:
                        stack.stop(g.process)
        finally:
            stack.stop(mock)
    report(rows, levels, args.duration)
    for name, times in floor.items():
        ordered = sorted(times)
        print(f"one-row commit on the bench database, one client, {name} "
              f"{'(with the audit writer lock)' if name == 'locked' else '(no lock)'}: "
              f"p50 {ordered[len(ordered) // 2]:.2f} ms, p99 {ordered[int(0.99 * len(ordered))]:.2f} ms")
    print(f"load average (1 min) {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")


def pg_commit_ms(database_url: str, rounds: int = 200) -> dict[str, list[float]]:
    """Milliseconds per one-row durable commit on the bench database, without and with the audit writer's lock.

    The floor every audit commit pays (the WAL flush), to tell it from the cost of taking turns.
    """
    import time

    from sqlalchemy import create_engine, text

    from clearance.store.sql.audit import AUDIT_WRITER_LOCK

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    out: dict[str, list[float]] = {"plain": [], "locked": []}
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS bench_commit (n bigint)"))
            conn.commit()
            for i in range(2 * rounds):  # bounded by count
                locked = i % 2 == 1
                began = time.perf_counter()
                if locked:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_WRITER_LOCK})
                conn.execute(text("INSERT INTO bench_commit VALUES (:n)"), {"n": i})
                conn.commit()
                out["locked" if locked else "plain"].append((time.perf_counter() - began) * 1000)
    finally:
        engine.dispose()
    return out


def make_key(gateway: stack.Gateway, admin: str) -> str:
    headers = {"Authorization": f"Bearer {admin}"}
    httpx.put(f"{gateway.admin}/v1/licences/LIC-BENCH", json={"record": BENCH_LICENCE, "reason": "benchmark"},
              headers=headers, timeout=30).raise_for_status()
    httpx.put(f"{gateway.admin}/v1/people/bench-user", headers=headers, timeout=30, json={
        "record": {"entity": "stripe", "citizenships": ["US"], "location": "US"}, "reason": "benchmark"}).raise_for_status()
    made = httpx.post(f"{gateway.admin}/v1/credentials", headers=headers, timeout=30, json={
        "scopes": ["gateway"], "person": "bench-user", "default_use_case": "software-engineering", "reason": "benchmark"})
    made.raise_for_status()
    return made.json()["token"]


def report(rows: list, levels: list[int], seconds: float) -> None:
    print(f"\n{os.cpu_count()} CPUs; wrk 1 thread; {seconds:.0f} s per row; added = row minus `mock direct` at the same c")
    print(f"{'setup':<24}{'c':>4}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'p50+':>8}{'p99+':>8}{'cpu ms/req':>11}"
          f"{'commits/s':>10}{'rec/commit':>11}{'commit ms':>10}{'errors':>7}")
    direct = {c: run for name, c, run, _, _ in rows if name == "mock direct"}
    for name, c, run, cpu, done in rows:
        base = direct[c]
        commit_cols = ("", "", "")
        if done is not None and done.count:
            commit_cols = (f"{done.count / seconds:,.0f}", f"{done.records / done.count:.1f}",
                           f"{done.seconds / done.count * 1000:.2f}")
        print(f"{name:<24}{c:>4}{run.rps:>9,.0f}{run.p50_ms:>8.2f}{run.p99_ms:>8.2f}"
              f"{run.p50_ms - base.p50_ms:>8.2f}{run.p99_ms - base.p99_ms:>8.2f}"
              f"{(f'{cpu:.2f}' if cpu is not None else '-'):>11}{commit_cols[0]:>10}{commit_cols[1]:>11}"
              f"{commit_cols[2]:>10}{run.errors:>7}")


if __name__ == "__main__":
    main()
