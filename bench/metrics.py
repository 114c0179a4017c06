"""What the Prometheus metrics cost a gateway call, in one process and in multiprocess mode.

    python bench/metrics.py [--calls 20000]

1. The metric updates one model call makes (a decision counted, decision latency, end-to-end
   latency, upstream latency observed: what ``Enforcer.enforce`` and the proxy do), timed in a
   loop, in prometheus-client's default mode and in its multiprocess mode (memory-mapped
   files, as ``clearance serve --workers N`` uses).
2. A whole in-process gateway call (httpx ASGI transport, SQLite, demo model, durable
   decision record) with the metrics on, and with every metric update replaced by a no-op,
   interleaved in rounds so drift affects both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

UPDATES = """
import time
from clearance.observability import metrics
route = metrics.REQUEST_SECONDS.labels("/chat/completions")
upstream = metrics.UPSTREAM_SECONDS.labels("demo")
n = {n}
start = time.perf_counter()
for _ in range(n):
    metrics.decided("permit", "authorized")
    metrics.DECISION_SECONDS.observe(0.0004)
    route.observe(0.002)
    upstream.observe(0.001)
print((time.perf_counter() - start) / n * 1e6)
"""


def updates_us(n: int, multiproc: bool) -> float:
    env = {**os.environ}
    with tempfile.TemporaryDirectory() as directory:
        if multiproc:
            env["PROMETHEUS_MULTIPROC_DIR"] = directory
        else:
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        out = subprocess.run([sys.executable, "-c", UPDATES.format(n=n)], env=env, capture_output=True, text=True,
                             check=True)
    return float(out.stdout)


async def calls_us(calls: int, rounds: int) -> tuple[float, float]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "observability"))
    from ops_kit import chat, running

    from clearance.observability import metrics
    from clearance.settings import Settings

    class Off:
        def labels(self, *_: object) -> Off:
            return self

        def inc(self, *_: object) -> None: ...

        def observe(self, *_: object) -> None: ...

        def set(self, *_: object) -> None: ...

    names = ["DECISIONS", "DECISION_SECONDS", "REQUEST_SECONDS", "UPSTREAM_SECONDS", "UPSTREAM_ERRORS", "AUDIT_QUEUE",
             "AUDIT_COMMIT_SECONDS", "AUDIT_RECORDS", "CAP_RESERVATIONS", "CAP_REFUSALS"]
    real = {name: getattr(metrics, name) for name in names}
    on, off = [], []
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(database_url=f"sqlite:///{Path(directory) / 'bench.db'}")
        async with running(settings) as run, run.client() as client:
            headers = {"Authorization": f"Bearer {run.key}"}
            for _ in range(200):  # warm up
                await client.post("/v1/chat/completions", json=chat(), headers=headers)
            for _ in range(rounds):
                for enabled, samples in ((True, on), (False, off)):
                    for name in names:
                        setattr(metrics, name, real[name] if enabled else Off())
                    metrics._decisions.clear()
                    metrics._refusals.clear()
                    import clearance.gateway.proxy as proxy

                    proxy._by_route.clear()
                    proxy._by_upstream.clear()
                    start = time.perf_counter()
                    for _ in range(calls):
                        await client.post("/v1/chat/completions", json=chat(), headers=headers)
                    samples.append((time.perf_counter() - start) / calls * 1e6)
    for name in names:
        setattr(metrics, name, real[name])
    return statistics.median(on), statistics.median(off)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=20000, help="metric-update iterations")
    ap.add_argument("--gateway-calls", type=int, default=300, help="gateway calls per round")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    single = updates_us(args.calls, multiproc=False)
    multi = updates_us(args.calls, multiproc=True)
    print(f"metric updates of one call: {single:.2f} µs (one process), {multi:.2f} µs (multiprocess mode)")
    with_metrics, without = asyncio.run(calls_us(args.gateway_calls, args.rounds))
    print(f"in-process gateway call (median of {args.rounds} rounds x {args.gateway_calls}): "
          f"{with_metrics:.0f} µs with metrics, {without:.0f} µs without ({with_metrics - without:+.0f} µs, "
          f"{(with_metrics - without) / without * 100:+.1f}%)")


if __name__ == "__main__":
    main()
