"""What the enforcing gateway costs, side by side with LiteLLM proxy, against a fast mock upstream.

    python bench/gateway.py [--duration 5] [--quick] [--no-litellm] [--no-revocation] [--no-authz] [--no-unguarded]

The same load (wrk, one connection per client: concurrency 1, 16 and 64; streaming and not)
is sent straight to the mock upstream, through ``clearance serve`` and through LiteLLM proxy,
in one run on the same cores. Added latency is a proxy's percentile minus the direct one.
Clearance runs with enforcement, its trained prompt and answer guards and durable audit on
(and once more with the guards off, as ``unguarded``, to show what they cost): every request is decided, its decision
record committed (SQLite, synchronous=FULL) before it is forwarded, a usage cap is checked
and metered (Redis counters), and its completion recorded. LiteLLM runs without a database
(its Prisma engines cannot be downloaded here) behind a custom-auth hook that gives every key
request and token limits, which LiteLLM's own limiter enforces.

Also measured: added time to first chunk for one streaming client, server CPU per request,
the time from a key's revocation to the last answer it got across 2 worker processes, and
the ext_authz path: the round trip of one authorization check (decided, obligations run, its
record committed) to ``clearance authz serve`` over gRPC (Envoy's protocol, ``xds-protos``)
and over HTTP, one client, sequential calls.
Targets: added latency <= 1/10 of LiteLLM's at p50 and p99; added time to first chunk <= 1 ms;
throughput >= 20x LiteLLM's; revocation p99 < 1 s. Needs ``wrk`` (Debian: ``apt-get install
wrk``) and, for the peer, ``pip install -e '.[bench]'``. Every server listens on 127.0.0.1
only; every load run is bounded by its duration, every loop by a count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REDIS = os.environ.get("CLEARANCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MODEL = "mythos-5"
PLAIN_BODY = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello to the benchmark"}]}
STREAM_BODY = {**PLAIN_BODY, "stream": True}
LITELLM_AUTH = '''
from fastapi import Request
from litellm.proxy._types import UserAPIKeyAuth

async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    if api_key.startswith("sk-bench-"):
        return UserAPIKeyAuth(api_key=api_key, rpm_limit=1_000_000_000, tpm_limit=1_000_000_000_000)
    raise Exception("unknown key")
'''
BENCH_LICENCE = {
    # Sorts before `annex-a`, so it is the authorization that permits the demo person: its
    # obligations (monitoring and a usage cap, far above what the run spends) are enforced.
    "kind": "individual-licence", "models": [MODEL], "valid": {"from": "2026-01-01T00:00:00Z"},
    "covers": {"entities": ["stripe"]}, "use_cases": {"use_cases": ["software-engineering"]},
    "obligations": [{"code": "monitoring"}, {"code": "usage-cap", "tokens_per_day": 10**12, "per": "entity"}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url}: not up after {seconds} s:\n{log.read_text()[-3000:]}")


@dataclass
class Target:
    name: str
    url: str  # the chat completions URL
    token: str
    process: subprocess.Popen | None


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float | None


def start(cmd: list[str], workdir: Path, name: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    log = workdir / f"{name}.log"
    with open(log, "w") as out:
        return subprocess.Popen(cmd, cwd=workdir, env={**os.environ, **(env or {})}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def start_clearance(workdir: Path, upstream_port: int, workers: int = 1, tag: str = "clearance",
                    guards: str = "trained") -> tuple[Target, str]:
    home = workdir / tag
    home.mkdir()
    (home / "gateway.yaml").write_text(
        f"upstreams:\n  - name: mock\n    base_url: http://127.0.0.1:{upstream_port}/v1\n    models: [{MODEL}]\n"
        "default_upstream: none\n")
    port = free_port()
    env = {"CLEARANCE_DATABASE_URL": f"sqlite:///{home / 'clearance.db'}",
           "CLEARANCE_GATEWAY_CONFIG": str(home / "gateway.yaml"), "CLEARANCE_COUNTERS_URL": REDIS,
           "CLEARANCE_EVENTS_URL": REDIS, "CLEARANCE_GUARDS": guards}
    process = start([sys.executable, "-c", "from clearance.cli.main import main; main()", "serve", "--port", str(port),
                     "--workers", str(workers)], home, "serve", env)
    wait_http(f"http://127.0.0.1:{port}/healthz", process, 60, home / "serve.log")
    printed = (home / "serve.log").read_text()
    key = re.search(r"demo key \(shown once\): (\S+)", printed)
    admin = re.search(r"admin token \(shown once\): (\S+)", printed)
    if not key or not admin:
        raise RuntimeError(printed)
    base = f"http://127.0.0.1:{port}"
    response = httpx.put(f"{base}/v1/licences/LIC-BENCH", json={"record": BENCH_LICENCE, "reason": "benchmark"},
                         headers={"Authorization": f"Bearer {admin.group(1)}"}, timeout=30)
    response.raise_for_status()
    return Target(tag, f"{base}/v1/chat/completions", key.group(1), process), admin.group(1)


def start_litellm(workdir: Path, upstream_port: int) -> Target | None:
    if shutil.which("litellm") is None and not (Path(sys.executable).parent / "litellm").exists():
        print("LiteLLM is not installed (pip install -e '.[bench]'): the peer is left out")
        return None
    home = workdir / "litellm"
    home.mkdir()
    (home / "bench_auth.py").write_text(LITELLM_AUTH)
    (home / "config.yaml").write_text(
        f"model_list:\n  - model_name: {MODEL}\n    litellm_params:\n      model: openai/{MODEL}\n"
        f"      api_base: http://127.0.0.1:{upstream_port}/v1\n      api_key: mock\n"
        "general_settings:\n  custom_auth: bench_auth.user_api_key_auth\n"
        "litellm_settings:\n  drop_params: true\n")
    port = free_port()
    binary = shutil.which("litellm") or str(Path(sys.executable).parent / "litellm")
    env = {"PYTHONPATH": str(home), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "LITELLM_MASTER_KEY": "sk-master-" + secrets.token_hex(24), "LITELLM_LOG": "ERROR"}
    process = start([binary, "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(port)], home, "litellm", env)
    wait_http(f"http://127.0.0.1:{port}/health/liveliness", process, 120, home / "litellm.log")
    return Target("litellm", f"http://127.0.0.1:{port}/v1/chat/completions", "sk-bench-1", process)


def lua(path: Path, body: dict, token: str) -> Path:
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n')
    return path


def cpu_ticks(process: subprocess.Popen | None) -> int | None:
    """User+system clock ticks of a server process and its children (uvicorn workers)."""
    if process is None:
        return None
    total = 0
    pids = [process.pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
        pids += [int(p) for p in children]
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    except (OSError, ValueError):
        return None
    return total


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(target: Target, script: Path, connections: int, seconds: float) -> Run:
    before = cpu_ticks(target.process)
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(script), target.url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    after = cpu_ticks(target.process)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not (p50 and p99 and rps and done):
        raise RuntimeError(f"wrk output not understood:\n{out}")
    cpu = None
    if before is not None and after is not None and int(done.group(1)):
        cpu = (after - before) * 1000 / os.sysconf("SC_CLK_TCK") / int(done.group(1))
    return Run(float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), int(bad.group(1)) if bad else 0, cpu)


async def first_chunk_ms(url: str, token: str, samples: int, reconnects: int = 5) -> list[float]:
    """Time from sending a streaming request to its first body byte, one client, keep-alive.

    A server may close a kept-alive connection between requests (uvicorn's keep-alive timeout, a
    proxy's request limit): the sample is then taken again on a new connection, at most
    ``reconnects`` times per run, and the count is said on stderr."""
    host, port = re.match(r"http://([\d.]+):(\d+)", url).groups()
    path = url.split(f":{port}", 1)[1]
    body = json.dumps(STREAM_BODY).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    out: list[float] = []
    reopened = 0
    while len(out) < samples:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while len(out) < samples:
                t = time.perf_counter()
                writer.write(head + body)
                await writer.drain()
                await reader.readuntil(b"\r\n\r\n")
                size = int((await reader.readline()).strip(), 16)  # first chunk: its size line, then data
                elapsed = (time.perf_counter() - t) * 1000
                await reader.readexactly(size + 2)
                while True:  # drain the rest of the chunked body
                    size = int((await reader.readline()).strip(), 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
                out.append(elapsed)
        except (asyncio.IncompleteReadError, ConnectionError):
            reopened += 1
            if reopened > reconnects:
                raise
        finally:
            writer.close()
    if reopened:
        print(f"({url}: the server closed the connection {reopened} time(s); those samples were retaken)",
              file=sys.stderr)
    return out


def revocation_lags(workdir: Path, upstream_port: int, rounds: int) -> list[float]:
    """Seconds from a revocation's commit to the last answer its key got, across 2 workers."""
    target, admin = start_clearance(workdir, upstream_port, workers=2, tag="revocation")
    headers = {"Authorization": f"Bearer {admin}"}
    base = target.url.rsplit("/v1/", 1)[0]
    lags = []
    try:
        for i in range(rounds):
            made = httpx.post(f"{base}/v1/credentials", headers=headers, timeout=30, json={
                "scopes": ["gateway"], "person": "demo-user", "default_use_case": "software-engineering",
                "default_location": "US", "reason": f"revocation round {i}"}).json()
            key = {"Authorization": f"Bearer {made['token']}"}
            for _ in range(20):  # warm both workers' caches (new connections spread over them)
                with httpx.Client(timeout=10) as c:
                    c.post(target.url, json=PLAIN_BODY, headers=key)
            httpx.post(f"{base}/v1/credentials/{made['key']}/revoke", json={"reason": "bench"}, headers=headers,
                       timeout=30).raise_for_status()
            revoked, last_ok, denied = time.monotonic(), None, 0
            while denied < 40 and time.monotonic() - revoked < 5:  # bounded in count and time
                with httpx.Client(timeout=10) as c:
                    status = c.post(target.url, json=PLAIN_BODY, headers=key).status_code
                if status == 200:
                    last_ok, denied = time.monotonic(), 0
                else:
                    denied += 1
            lags.append(0.0 if last_ok is None else last_ok - revoked)
    finally:
        stop(target.process)
    return lags


def authz_round_trips(workdir: Path, upstream_port: int, rounds: int) -> dict[str, list[float]]:
    """Milliseconds per authorization check, sequential, to ``clearance authz serve`` over gRPC and HTTP."""
    target, _ = start_clearance(workdir, upstream_port, tag="authz")
    home = workdir / "authz"
    http_port, grpc_port = free_port(), free_port()
    env = {"CLEARANCE_DATABASE_URL": f"sqlite:///{home / 'clearance.db'}",
           "CLEARANCE_GATEWAY_CONFIG": str(home / "gateway.yaml"), "CLEARANCE_COUNTERS_URL": REDIS,
           "CLEARANCE_EVENTS_URL": REDIS}
    authz = start([sys.executable, "-c", "from clearance.cli.main import main; main()", "authz", "serve",
                   "--port", str(http_port), "--grpc-port", str(grpc_port)], home, "authz", env)
    out: dict[str, list[float]] = {}
    try:
        wait_http(f"http://127.0.0.1:{http_port}/healthz", authz, 60, home / "authz.log")
        headers = {"authorization": f"Bearer {target.token}"}
        raw = json.dumps(PLAIN_BODY).encode()
        with httpx.Client(timeout=10) as client:
            url = f"http://127.0.0.1:{http_port}/ext_authz/v1/chat/completions"
            times = []
            for i in range(rounds + 20):  # the first 20 warm up
                began = time.perf_counter()
                status = client.post(url, content=raw, headers=headers).status_code
                if status != 200:
                    raise RuntimeError(f"HTTP check answered {status}")
                if i >= 20:
                    times.append((time.perf_counter() - began) * 1000)
            out["http"] = times
        try:
            import grpc
            from envoy.service.auth.v3 import attribute_context_pb2, external_auth_pb2, external_auth_pb2_grpc
        except ImportError:
            print("grpcio/xds-protos not installed (pip install -e '.[authz]'): the gRPC check is left out")
            return out
        http = attribute_context_pb2.AttributeContext.HttpRequest(method="POST", path="/v1/chat/completions",
                                                                 headers=headers, raw_body=raw)
        request = external_auth_pb2.CheckRequest(attributes=attribute_context_pb2.AttributeContext(
            request=attribute_context_pb2.AttributeContext.Request(http=http)))
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            stub = external_auth_pb2_grpc.AuthorizationStub(channel)
            times = []
            for i in range(rounds + 20):
                began = time.perf_counter()
                if stub.Check(request, timeout=10).status.code != 0:
                    raise RuntimeError("gRPC check refused")
                if i >= 20:
                    times.append((time.perf_counter() - began) * 1000)
            out["grpc"] = times
    finally:
        stop(authz)
        stop(target.process)
    return out


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, 15)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=5.0, help="seconds of load per measurement")
    ap.add_argument("--concurrency", default="1,16,64")
    ap.add_argument("--quick", action="store_true", help="2 s runs, concurrency 1 and 16, fewer samples")
    ap.add_argument("--no-litellm", action="store_true")
    ap.add_argument("--no-revocation", action="store_true")
    ap.add_argument("--no-authz", action="store_true")
    ap.add_argument("--no-unguarded", action="store_true",
                    help="leave out clearance with its prompt and answer guards off (CLEARANCE_GUARDS=off)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/gateway.py needs wrk (Debian: apt-get install wrk)")
    if args.quick:
        args.duration, args.concurrency = 2.0, "1,16"
    levels = [int(c) for c in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory(prefix="clearance-bench-") as tmp:
        work = Path(tmp)
        upstream_port = free_port()
        mock = start([sys.executable, str(HERE / "mock_upstream.py"), "--port", str(upstream_port)], work, "mock")
        targets: list[Target] = []
        results: dict[tuple[str, str, int], Run] = {}
        ttfb: dict[str, list[float]] = {}
        try:
            wait_http(f"http://127.0.0.1:{upstream_port}/v1/models", mock, 20, work / "mock.log")
            starters = [lambda: Target("direct", f"http://127.0.0.1:{upstream_port}/v1/chat/completions", "none", mock),
                        lambda: start_clearance(work, upstream_port)[0]]
            if not args.no_unguarded:
                starters.append(lambda: start_clearance(work, upstream_port, tag="unguarded", guards="off")[0])
            if not args.no_litellm:
                starters.append(lambda: start_litellm(work, upstream_port))
            # One proxy runs at a time: an idle peer's background work must not tax the one measured.
            for starter in starters:
                target = starter()
                if target is None:
                    continue
                targets.append(target)
                try:
                    for mode, body in (("plain", PLAIN_BODY), ("stream", STREAM_BODY)):
                        script = lua(work / f"{target.name}-{mode}.lua", body, target.token)
                        wrk(target, script, 4, 1.0)  # warm-up
                        for c in levels:
                            results[(target.name, mode, c)] = run = wrk(target, script, c, args.duration)
                            print(f"{target.name:<10} {mode:<6} c={c:<3} {run.rps:>9,.0f} req/s  p50 {run.p50_ms:7.2f} ms"
                                  f"  p99 {run.p99_ms:7.2f} ms  errors {run.errors}", flush=True)
                    ttfb[target.name] = asyncio.run(first_chunk_ms(target.url, target.token, 100 if args.quick else 300))
                finally:
                    if target.process is not mock:
                        stop(target.process)
            lags = [] if args.no_revocation else revocation_lags(work, upstream_port, 5 if args.quick else 20)
            checks = {} if args.no_authz else authz_round_trips(work, upstream_port, 200 if args.quick else 1000)
        finally:
            for target in targets[1:]:
                stop(target.process)
            stop(mock)
    report(targets, levels, results, ttfb, lags, checks)


def report(targets: list[Target], levels: list[int], results: dict, ttfb: dict[str, list[float]], lags: list[float],
           checks: dict[str, list[float]]) -> None:
    names = [t.name for t in targets]
    print("\nadded latency over direct (ms) and throughput; ratios clearance : litellm")
    print(f"{'mode':<7}{'c':>4} {'proxy':<10}{'req/s':>9}{'p50+':>9}{'p99+':>9}{'cpu ms/req':>11}")
    for mode in ("plain", "stream"):
        for c in levels:
            direct = results[("direct", mode, c)]
            for name in names[1:]:
                run = results[(name, mode, c)]
                cpu = f"{run.cpu_ms:.2f}" if run.cpu_ms is not None else "-"
                print(f"{mode:<7}{c:>4} {name:<10}{run.rps:>9,.0f}{run.p50_ms - direct.p50_ms:>9.2f}"
                      f"{run.p99_ms - direct.p99_ms:>9.2f}{cpu:>11}")
            if "litellm" in names:
                ours, peer = results[("clearance", mode, c)], results[("litellm", mode, c)]
                lat50 = (ours.p50_ms - direct.p50_ms) / max(1e-9, peer.p50_ms - direct.p50_ms)
                lat99 = (ours.p99_ms - direct.p99_ms) / max(1e-9, peer.p99_ms - direct.p99_ms)
                print(f"{'':<11} ratio: added p50 {lat50:.3f}x, added p99 {lat99:.3f}x (target <= 0.1); "
                      f"throughput {ours.rps / peer.rps:.1f}x (target >= 20)")
    direct_first = statistics.median(ttfb["direct"])
    for name in names[1:]:
        print(f"time to first chunk, one streaming client, {name}: added p50 "
              f"{statistics.median(ttfb[name]) - direct_first:.2f} ms, p99 {pct(ttfb[name], 0.99) - pct(ttfb['direct'], 0.99):.2f} ms"
              + (" (target <= 1 ms)" if name == "clearance" else ""))
    if lags:
        print(f"revocation to deny across 2 workers, {len(lags)} revocations: p50 {pct(lags, 0.5) * 1000:.0f} ms, "
              f"p99 {pct(lags, 0.99) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms (target p99 < 1000 ms)")
    for protocol, times in checks.items():
        print(f"ext_authz check round trip over {protocol}, one client, {len(times)} calls: p50 "
              f"{statistics.median(times):.2f} ms, p99 {pct(times, 0.99):.2f} ms (decided and recorded)")


if __name__ == "__main__":
    main()
