"""The enforcement promises across real server processes: caps never overshoot, revocation is in force on return.

Each test runs a real ``clearance serve`` with 2 workers on 127.0.0.1; every load loop is
bounded in count and time.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from gateway_kit import Server, start_server, stop_server

from needs import redis_url

CAP = 500


def _redis_or_skip() -> str:
    return redis_url()


@pytest.fixture(params=["sqlite", "postgres", "postgres+redis"])
def served(request: pytest.FixtureRequest, tmp_path) -> Iterator[Server]:
    env: dict[str, str] = {}
    if request.param.startswith("postgres"):
        url = request.getfixturevalue("pg_schema_url")
        env.update(CLEARANCE_DATABASE_URL=url, CLEARANCE_EVENTS_URL=url.split("?")[0])
    if request.param.endswith("redis"):
        redis_url = _redis_or_skip()
        env.update(CLEARANCE_EVENTS_URL=redis_url, CLEARANCE_COUNTERS_URL=redis_url)
    running = start_server(tmp_path / "serve", env_extra=env, workers=2)
    yield running
    stop_server(running)


def _chat(base: str, token: str, content: str = "hello there", max_tokens: int | None = 10,
          client: httpx.Client | None = None) -> httpx.Response:
    body: dict = {"model": "gpt-5.6-terra", "messages": [{"role": "user", "content": content}]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    send = client.post if client is not None else httpx.post
    return send(base + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _capped_person(server: Server, cap: int = CAP) -> str:
    suffix = uuid.uuid4().hex[:6]
    licence = {"kind": "individual-licence", "models": ["gpt-5.6-terra"], "valid": {"from": "2026-01-01T00:00:00Z"},
               "covers": {"entities": ["stripe"]}, "use_cases": {"use_cases": ["general"]},
               "obligations": [{"code": "monitoring"}, {"code": "usage-cap", "tokens_per_day": cap, "per": "person"}]}
    response = server.admin_call("PUT", f"/v1/licences/LIC-CAP-{suffix}", json={"record": licence, "reason": "test"})
    assert response.status_code == 201, response.text
    server.person(f"p-cap-{suffix}", "stripe", ["US"], "US")
    return server.key(f"p-cap-{suffix}", "general")[1]


def _completions(server: Server, person_prefix: str) -> list[dict]:
    found, after = [], -1
    while True:
        page = server.admin_call("GET", "/v1/audit/records", params={"kind": "completion", "after_seq": after}).json()
        found += [r["body"] for r in page["records"] if str(r["body"].get("person", "")).startswith(person_prefix)]
        if page["next_after_seq"] is None:
            return found
        after = page["next_after_seq"]


def test_64_concurrent_calls_at_the_edge_of_a_cap_across_two_workers_never_serve_more_than_it(tmp_path):
    server = start_server(tmp_path / "serve", workers=2)
    try:
        token = _capped_person(server)
        with httpx.Client() as client, concurrent.futures.ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda _: _chat(server.base, token, client=client).status_code, range(64)))
        assert set(statuses) <= {200, 429} and statuses.count(200) > 0 and statuses.count(429) > 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # completions are written lazily: wait for all of them
            served = [c for c in _completions(server, "p-cap-") if c.get("upstream_status") == 200]
            if len(served) >= statuses.count(200):
                break
            time.sleep(0.1)
        assert len(served) == statuses.count(200)
        assert sum(c["usage"]["total_tokens"] for c in served) <= CAP
    finally:
        stop_server(server)


def test_a_revocation_is_in_force_for_every_worker_when_the_admin_call_returns(served):
    """50 revocations under load: no call that started after the revoking call returned is served."""
    server = served
    server.person("p-revoke", "stripe", ["US"], "US")
    late: list[tuple[int, float, float]] = []
    for round_ in range(50):
        key, token = server.key("p-revoke", "software-engineering")
        returned: list[float] = []
        stop = threading.Event()

        def hammer(token: str = token, returned: list[float] = returned, stop: threading.Event = stop,
                   round_: int = round_) -> None:
            with httpx.Client() as client:
                for _ in range(200):  # bounded
                    if stop.is_set():
                        return
                    started = time.monotonic()
                    response = client.post(server.base + "/v1/chat/completions", timeout=30,
                                           json={"model": "mythos-5", "messages": [{"role": "user", "content": "hi"}]},
                                           headers={"Authorization": f"Bearer {token}"})
                    if returned and started > returned[0] and response.status_code == 200:
                        late.append((round_, started - returned[0], time.monotonic() - started))
                    if returned and started > returned[0] + 0.05:
                        return

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.02)  # let calls be in flight when the revocation lands
        response = server.admin_call("POST", f"/v1/credentials/{key}/revoke", json={"reason": "test"})
        returned.append(time.monotonic())
        assert response.status_code in (200, 201), response.text
        for t in threads:
            t.join(timeout=30)
        stop.set()
    assert late == []
