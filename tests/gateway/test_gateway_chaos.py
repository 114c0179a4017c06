"""Chaos, bounded and on loopback: PostgreSQL and Redis cut and stalled under load, then restored.

A real ``clearance serve`` with 2 workers runs on PostgreSQL (events and usage counters on
Redis), each reached through a :class:`tcp_proxy.TcpProxy` the test controls; the machine's
own services are never touched. Four clients call a capped licence (every call reserves on
Redis and records on PostgreSQL) while the test, phase by phase, cuts or stalls one part and
brings it back. It asserts, and prints:

- every call answered 200 has its decision record in the audit log (acknowledged, recorded,
  lost = 0), read afterwards straight from PostgreSQL, not through the gateway;
- ``/readyz`` answers 503 naming the part while it is out;
- service resumes without a restart: the time from restoring the part to the first 200 and
  to ``/readyz`` 200 is measured and bounded.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
from gateway_kit import Server, start_server, stop_server
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from needs import redis_url
from tcp_proxy import TcpProxy

CLIENTS = 4
OUTAGE_S = 3.0
RECOVERY_BOUND_S = 30.0


def _redis_or_skip() -> tuple[str, int]:
    url = make_url(redis_url())
    return url.host or "127.0.0.1", url.port or 6379


class Load:
    """Clients calling until stopped (bounded by a count each); every answer kept with its decision id."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.answers: list[tuple[float, int, int | None]] = []  # (time, status, decision id)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)

    def _run(self) -> None:
        body = {"model": "gpt-5.6-terra", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
        with httpx.Client(timeout=10) as client:
            for _ in range(20_000):  # bounded
                if self._stop.is_set():
                    return
                try:
                    response = client.post(self.base + "/v1/chat/completions", json=body,
                                           headers={"Authorization": f"Bearer {self.token}"})
                    status, seq = response.status_code, response.headers.get("x-clearance-decision-id")
                except httpx.HTTPError:
                    status, seq = 0, None
                with self._lock:
                    self.answers.append((time.monotonic(), status, int(seq) if seq is not None else None))
                if status != 200:
                    time.sleep(0.05)

    def first_ok_after(self, instant: float, bound_s: float) -> float | None:
        deadline = time.monotonic() + bound_s
        while time.monotonic() < deadline:
            with self._lock:
                found = [t for t, status, _ in self.answers if t > instant and status == 200]
            if found:
                return found[0] - instant
            time.sleep(0.05)
        return None


def _readyz(base: str) -> tuple[int, dict]:
    try:
        response = httpx.get(base + "/readyz", timeout=5)
    except httpx.HTTPError as exc:
        return 0, {"error": type(exc).__name__}
    return response.status_code, response.json()


def _wait_ready(base: str, want: int, bound_s: float) -> tuple[float | None, dict]:
    start = time.monotonic()
    body: dict = {}
    while time.monotonic() - start < bound_s:
        status, body = _readyz(base)
        if status == want:
            return time.monotonic() - start, body
        time.sleep(0.1)
    return None, body


def _workers(pid: int) -> list[int]:
    """The uvicorn worker processes under ``clearance serve`` (multiprocessing children, not its helpers)."""
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing" in command and b"resource_tracker" not in command:
            found.append(int(child))
    return found


def _capped_key(server: Server) -> str:
    suffix = uuid.uuid4().hex[:6]
    licence = {"kind": "individual-licence", "models": ["gpt-5.6-terra"], "valid": {"from": "2026-01-01T00:00:00Z"},
               "covers": {"entities": ["stripe"]}, "use_cases": {"use_cases": ["general"]},
               "obligations": [{"code": "usage-cap", "tokens_per_day": 100_000_000, "per": "person"}]}
    response = server.admin_call("PUT", f"/v1/licences/LIC-CHAOS-{suffix}", json={"record": licence, "reason": "test"})
    assert response.status_code == 201, response.text
    server.person(f"p-chaos-{suffix}", "stripe", ["US"], "US")
    return server.key(f"p-chaos-{suffix}", "general")[1]


def test_postgres_and_redis_cut_and_stalled_under_load_lose_no_record_and_recover(pg_schema_url, tmp_path):
    redis_host, redis_port = _redis_or_skip()
    pg = make_url(pg_schema_url)
    with TcpProxy(pg.host or "127.0.0.1", pg.port or 5432) as pg_proxy, TcpProxy(redis_host, redis_port) as redis_proxy:
        through_pg = pg.set(host="127.0.0.1", port=pg_proxy.port).render_as_string(hide_password=False)
        redis_url = f"redis://127.0.0.1:{redis_proxy.port}/0"
        server = start_server(tmp_path / "serve", workers=2, env_extra={
            "CLEARANCE_DATABASE_URL": through_pg, "CLEARANCE_EVENTS_URL": redis_url,
            "CLEARANCE_COUNTERS_URL": redis_url})
        report = []
        try:
            token = _capped_key(server)
            with Load(server.base, token) as load:
                time.sleep(1.0)
                victims = _workers(server.process.pid)
                assert len(victims) == 2, victims
                os.kill(victims[0], signal.SIGKILL)
                killed = time.monotonic()
                served_after_kill = load.first_ok_after(killed, RECOVERY_BOUND_S)
                assert served_after_kill is not None, "no call served after a worker was killed"
                deadline = time.monotonic() + RECOVERY_BOUND_S
                while time.monotonic() < deadline:
                    now = _workers(server.process.pid)
                    if len(now) == 2 and victims[0] not in now:
                        break
                    time.sleep(0.1)
                else:
                    raise AssertionError("the killed worker was not replaced")
                replaced = time.monotonic() - killed
                ready_after, body = _wait_ready(server.base, 200, RECOVERY_BOUND_S)
                assert ready_after is not None, body
                time.sleep(1.0)
                for name, proxy, action, part in (("postgres cut", pg_proxy, pg_proxy.cut, "store"),
                                                  ("redis cut", redis_proxy, redis_proxy.cut, "counters"),
                                                  ("postgres stalled", pg_proxy, pg_proxy.stall, "store"),
                                                  ("redis stalled", redis_proxy, redis_proxy.stall, "counters")):
                    action()
                    seen, body = _wait_ready(server.base, 503, 15.0)
                    assert seen is not None, f"{name}: /readyz never answered 503: {body}"
                    assert part in body["failing"], (name, body)
                    time.sleep(OUTAGE_S)
                    proxy.resume()
                    restored = time.monotonic()
                    first_ok = load.first_ok_after(restored, RECOVERY_BOUND_S)
                    ready_after, body = _wait_ready(server.base, 200, RECOVERY_BOUND_S)
                    assert first_ok is not None, f"{name}: no call served within {RECOVERY_BOUND_S} s of restoring it"
                    assert ready_after is not None, f"{name}: /readyz not 200 within {RECOVERY_BOUND_S} s: {body}"
                    report.append((name, body, first_ok, ready_after))
                    time.sleep(1.0)
            answers = list(load.answers)
        finally:
            stop_server(server)
    acknowledged = {seq for _, status, seq in answers if status == 200}
    assert None not in acknowledged, "a 200 without its decision id"
    engine = create_engine(pg_schema_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            recorded = {row[0] for row in conn.execute(text("SELECT seq FROM audit_records WHERE kind = 'decision'"))}
    finally:
        engine.dispose()
    lost = acknowledged - recorded
    statuses = {}
    for _, status, _ in answers:
        statuses[status] = statuses.get(status, 0) + 1
    print(f"\nchaos: worker killed (SIGKILL): next 200 after {served_after_kill:.2f} s, replaced after {replaced:.2f} s")
    print(f"chaos: {len(answers)} calls, answers by status {dict(sorted(statuses.items()))}; "
          f"acknowledged (200) {len(acknowledged)}, recorded {len(acknowledged & recorded)}, lost {len(lost)}")
    for name, _, first_ok, ready_after in report:
        print(f"  {name}: first 200 {first_ok:.2f} s after restoring, /readyz 200 after {ready_after:.2f} s")
    assert lost == set()
    assert statuses.get(200, 0) > 0 and set(statuses) <= {0, 200, 429, 502, 503, 504}
