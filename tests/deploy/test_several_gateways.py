"""Several gateways, one truth: three ``clearance serve`` processes on one PostgreSQL and Redis, behind nginx.

The processes run compose's command and environment (``deploy/local_stack.py``; one worker
each here), on a fresh PostgreSQL schema and Redis, behind a real nginx running
``deploy/nginx.conf`` (round robin over the three). Eight clients send 320 calls through
nginx, half on a key whose licence caps its person's tokens a day, half on an uncapped key.
Asserted, and printed:

- the audit log is one log: its seqs are contiguous from 0 across the three writers, every
  200 has its decision record, and ``clearance audit verify`` passes after the stop;
- every gateway served a share of the calls (each process's own ``/metrics``);
- the cap holds across processes: the tokens the 200s of the capped key were given never
  exceed it, and the calls past it are refused with ``usage-cap-exceeded``;
- a key revoked through one gateway's admin API is refused by all three (asked directly),
  within a bound; the time each took is printed;
- with one gateway stopped, calls through nginx are still answered (by the other two).
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from needs import nginx, redis_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy"))
import local_stack as stack  # noqa: E402 - deploy/local_stack.py, through the path above

GATEWAYS = 3
CLIENTS, CALLS_EACH = 8, 40
CAP = 400  # tokens a day: room for a few dozen of the capped calls, far fewer than are sent
CAPPED_MODEL, FREE_MODEL = "gpt-5.6-terra", "mythos-5"
BOUND_S = 30.0  # liveness bound for revocation to reach every process; not a performance target


class Stack:
    def __init__(self, gateways: list[stack.Gateway], proxy: stack.Nginx, env: dict[str, str], admin: str,
                 workdir: Path) -> None:
        self.gateways, self.nginx, self.env, self.workdir = gateways, proxy, env, workdir
        self.headers = {"Authorization": f"Bearer {admin}"}

    def admin(self, method: str, path: str, gateway: int = 0, **kwargs) -> httpx.Response:
        return httpx.request(method, self.gateways[gateway].admin + path, headers=self.headers, timeout=30, **kwargs)

    def key(self, person: str, use_case: str) -> tuple[str, str]:
        response = self.admin("PUT", f"/v1/people/{person}", json={
            "record": {"entity": "stripe", "citizenships": ["US"], "location": "US"}, "reason": "test"})
        assert response.status_code == 201, response.text
        response = self.admin("POST", "/v1/credentials", json={
            "scopes": ["gateway"], "person": person, "default_use_case": use_case, "reason": "test"})
        assert response.status_code == 201, response.text
        return response.json()["key"], response.json()["token"]


@pytest.fixture
def several(pg_schema_url: str, tmp_path: Path) -> Iterator[Stack]:
    binary, redis = nginx(), redis_url()
    env = stack.compose_env(pg_schema_url, redis, tmp_path / "keys", stack.DEPLOY / "gateway.yaml")
    stack.run_init(env, tmp_path)
    gateways = [stack.start_gateway(f"gateway-{i + 1}", env, tmp_path, workers=1) for i in range(GATEWAYS)]
    proxy = None
    try:
        with concurrent.futures.ThreadPoolExecutor(GATEWAYS) as pool:
            list(pool.map(stack.wait_ready, gateways))
        proxy = stack.start_nginx(binary, [g.port for g in gateways], tmp_path / "nginx")
        admin = next(t for g in gateways if (t := g.printed(r"admin token \(shown once\): (\S+)")))
        yield Stack(gateways, proxy, env, admin, tmp_path)
    finally:
        if proxy is not None:
            stack.stop(proxy.process)
        codes = [stack.stop(g.process) for g in gateways]
        # A clean stop: one worker's uvicorn re-raises SIGTERM once it has shut down (-15); the
        # final signed head each writes then is what lets `audit verify` cover every record.
        assert set(codes) <= {0, -15}, codes
        if proxy is not None:
            assert "[emerg]" not in proxy.errors(), proxy.errors()


def _call(client: httpx.Client, url: str, token: str, model: str) -> tuple[int, int | None, int, str | None]:
    body = {"model": model, "messages": [{"role": "user", "content": "several gateways one truth"}], "max_tokens": 8}
    try:
        response = client.post(url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError:
        return 0, None, 0, None
    seq = response.headers.get("x-clearance-decision-id")
    data = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    used = (data.get("usage") or {}).get("total_tokens", 0) if response.status_code == 200 else 0
    code = (data.get("error") or {}).get("code") if response.status_code != 200 else None
    return response.status_code, int(seq) if seq is not None else None, used, code


def _decisions_served(gateway: stack.Gateway, headers: dict[str, str]) -> float:
    metrics = httpx.get(gateway.admin + "/metrics", headers=headers, timeout=30).text
    return sum(float(v) for v in re.findall(r"^clearance_decisions_total\{[^}]*\} (\S+)$", metrics, re.M))


def _refused_everywhere(several: Stack, token: str, revoked_at: float) -> list[float]:
    """Seconds from the revocation to each gateway's first refusal of ``token``, asked directly."""
    waits: list[float | None] = [None] * len(several.gateways)
    with httpx.Client(timeout=10) as client:
        while None in waits and time.monotonic() - revoked_at < BOUND_S:  # bounded in time
            for i, gateway in enumerate(several.gateways):
                if waits[i] is None and _call(client, gateway.base, token, FREE_MODEL)[0] == 401:
                    waits[i] = time.monotonic() - revoked_at
            time.sleep(0.005)
    assert None not in waits, f"still served by some gateway {BOUND_S} s after its revocation: {waits}"
    return [w for w in waits if w is not None]


def test_three_gateways_behind_nginx_keep_one_log_one_cap_and_one_revocation(several: Stack):
    suffix = uuid.uuid4().hex[:8]  # fresh counters, even in a Redis that outlives runs
    licence = {"kind": "individual-licence", "models": [CAPPED_MODEL], "valid": {"from": "2026-01-01T00:00:00Z"},
               "covers": {"entities": ["stripe"]}, "use_cases": {"use_cases": ["general"]},
               "obligations": [{"code": "usage-cap", "tokens_per_day": CAP, "per": "person"}]}
    response = several.admin("PUT", f"/v1/licences/LIC-SEVERAL-{suffix}", json={"record": licence, "reason": "test"})
    assert response.status_code == 201, response.text
    _, capped = several.key(f"p-capped-{suffix}", "general")
    _, free = several.key(f"p-free-{suffix}", "software-engineering")
    for gateway in several.gateways:  # every process has seen the licence and keys before the load
        deadline = time.monotonic() + BOUND_S
        with httpx.Client(timeout=10) as client:
            while _call(client, gateway.base, free, FREE_MODEL)[0] != 200 and time.monotonic() < deadline:
                time.sleep(0.05)

    answers: list[tuple[str, int, int | None, int, str | None]] = []
    lock = threading.Lock()

    def client_loop(n: int) -> None:
        with httpx.Client(timeout=30) as client:
            for i in range(CALLS_EACH):  # bounded by count
                kind, token, model = ("capped", capped, CAPPED_MODEL) if (n + i) % 2 else ("free", free, FREE_MODEL)
                answer = _call(client, several.nginx.base, token, model)
                with lock:
                    answers.append((kind, *answer))

    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client_loop, range(CLIENTS)))
    load_s = time.monotonic() - began
    served = [_decisions_served(g, several.headers) for g in several.gateways]

    revoked_key, revoked = several.key(f"p-revoked-{suffix}", "software-engineering")
    with httpx.Client(timeout=10) as client:
        for gateway in several.gateways:  # each process has the key in its snapshot and answers it
            assert _call(client, gateway.base, revoked, FREE_MODEL)[0] == 200
    response = several.admin("POST", f"/v1/credentials/{revoked_key}/revoke", gateway=1, json={"reason": "test"})
    assert response.status_code == 200, response.text
    waits = _refused_everywhere(several, revoked, time.monotonic())
    with httpx.Client(timeout=10) as client:
        after = [_call(client, several.nginx.base, revoked, FREE_MODEL)[0] for _ in range(3 * GATEWAYS)]
    assert set(after) == {401}, after

    stack.stop(several.gateways[-1].process)  # one gateway gone: nginx sends its share to the others
    with httpx.Client(timeout=10) as client:
        failover = [_call(client, several.nginx.base, free, FREE_MODEL) for _ in range(30)]
    assert [a[0] for a in failover] == [200] * 30, failover

    for gateway in several.gateways:
        stack.stop(gateway.process)
    engine = create_engine(several.env["CLEARANCE_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            seqs = [row[0] for row in conn.execute(text("SELECT seq FROM audit_records ORDER BY seq"))]
            decisions = {row[0] for row in conn.execute(text("SELECT seq FROM audit_records WHERE kind = 'decision'"))}
    finally:
        engine.dispose()
    verify = subprocess.run([*stack.CLI, "audit", "verify"], env={**os.environ, **several.env}, cwd=several.workdir,
                            capture_output=True, text=True, timeout=120)

    ok = [a for a in answers if a[1] == 200]
    acknowledged = {a[2] for a in ok} | {a[1] for a in failover}
    lost = acknowledged - decisions
    capped_tokens = sum(a[3] for a in ok if a[0] == "capped")
    capped_ok = sum(1 for a in ok if a[0] == "capped")
    cap_refused = sum(1 for a in answers if a[0] == "capped" and a[4] == "usage-cap-exceeded")
    statuses: dict[int, int] = {}
    for a in answers:
        statuses[a[1]] = statuses.get(a[1], 0) + 1
    print(f"\nseveral gateways: {GATEWAYS} processes behind nginx, {len(answers)} calls in {load_s:.1f} s "
          f"({CLIENTS} clients), by status {dict(sorted(statuses.items()))}; decisions per gateway "
          f"{[int(s) for s in served]}")
    print(f"  audit: {len(seqs)} records, seqs 0..{seqs[-1]} contiguous: {seqs == list(range(len(seqs)))}; "
          f"acknowledged (200) {len(acknowledged)}, recorded {len(acknowledged & decisions)}, lost {len(lost)}; "
          f"verify: {verify.stdout.strip()}")
    print(f"  cap {CAP} tokens/day: capped key served {capped_ok} calls, {capped_tokens} tokens; "
          f"{cap_refused} refused usage-cap-exceeded")
    print("  revocation through gateway-2, refused by each gateway after "
          + ", ".join(f"{w * 1000:.0f} ms" for w in waits))
    print(f"  gateway-3 stopped: {len(failover)} calls through nginx, all answered 200")

    assert len(answers) == CLIENTS * CALLS_EACH and set(statuses) <= {200, 429}, statuses
    assert None not in acknowledged and lost == set()
    assert seqs == list(range(len(seqs))), "the audit log has a gap or a duplicate"
    assert verify.returncode == 0 and "intact" in verify.stdout, verify.stdout + verify.stderr
    assert all(s > 0 for s in served), served  # nginx spread the calls; each process wrote to the one log
    assert capped_ok > 0 and cap_refused > 0, (capped_ok, cap_refused)
    assert capped_tokens <= CAP
    assert statuses[200] - capped_ok == CLIENTS * CALLS_EACH // 2  # the uncapped key was never refused
