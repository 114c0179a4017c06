"""Usage caps across the two workers of one ``clearance serve``, on every shared counter store.

The counters are shared by the processes: Redis when ``CLEARANCE_COUNTERS_URL`` is set, else
the registry database (SQLite here, PostgreSQL in the next case). Calls are made one at a
time, each awaited until its completion is recorded, and spend 30 tokens of a 100-token cap:
a cap counted per process would let each worker serve its own 100. CI requires PostgreSQL and
Redis (``CLEARANCE_TEST_REQUIRE``), so these cases run there.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from counting_upstream import CountingUpstream
from gateway_kit import Server, start_server, stop_server

REDIS_URL = "redis://127.0.0.1:6379/0"
CAP, SPEND = 100, 30


@pytest.fixture(scope="module")
def upstream() -> Iterator[CountingUpstream]:
    running = CountingUpstream()
    yield running
    running.close()


def redis_url() -> str:
    import os

    import redis

    from needs import missing

    url = os.environ.get("CLEARANCE_TEST_REDIS_URL", REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure: Redis is not there
        missing("redis", f"redis not reachable at {url} ({type(exc).__name__}); set CLEARANCE_TEST_REDIS_URL")
    finally:
        client.close()
    return url


@pytest.fixture(params=["sqlite", "sqlite+redis", "postgres", "postgres+redis"])
def server(request: pytest.FixtureRequest, tmp_path, upstream: CountingUpstream) -> Iterator[Server]:
    env: dict[str, str] = {}
    if request.param.startswith("postgres"):
        env["CLEARANCE_DATABASE_URL"] = request.getfixturevalue("pg_schema_url")
        env["CLEARANCE_AUDIT_KEYS"] = str(tmp_path / "keys")
    if request.param.endswith("+redis"):
        env["CLEARANCE_COUNTERS_URL"] = redis_url()
    config = (f"upstreams:\n  - name: counting\n    base_url: {upstream.base_url}\n    models: [gpt-5.6-luna]\n")
    running = start_server(tmp_path / "serve", env_extra=env, workers=2, gateway_yaml=config)
    yield running
    stop_server(running)


def completions(server: Server, person: str) -> int:
    response = server.admin_call("GET", "/v1/audit/records", params={"person": person, "kind": "completion",
                                                                      "limit": 1000})
    assert response.status_code == 200, response.text
    return len(response.json()["records"])


def test_a_cap_binds_the_entity_across_both_workers(server):
    licence_id = f"LIC-CAP-{uuid.uuid4().hex[:8]}"  # a fresh counter, even in a Redis that outlives runs
    record = {"kind": "individual-licence", "models": ["gpt-5.6-luna"], "valid": {"from": "2026-01-01T00:00:00Z"},
              "covers": {"entities": ["stripe"]}, "use_cases": {"use_cases": ["general"]},
              "obligations": [{"code": "usage-cap", "tokens_per_day": CAP, "per": "entity"}]}
    response = server.admin_call("PUT", f"/v1/licences/{licence_id}", json={"record": record, "reason": "test"})
    assert response.status_code == 201, response.text
    server.person("p-shared-cap", "stripe", ["US"], "US")
    _, token = server.key("p-shared-cap", "general")
    body = {"model": "gpt-5.6-luna", "messages": [{"role": "user", "content": f"usage:{SPEND}"}]}
    served, statuses = 0, []
    for _ in range(40):  # bounded; a shared counter refuses after 4 of these
        answer = httpx.post(server.base + "/v1/chat/completions", json=body, timeout=30,
                            headers={"Authorization": f"Bearer {token}"})
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            break
        if answer.status_code == 403:  # the other worker has not seen the new licence yet
            time.sleep(0.05)
            continue
        assert answer.status_code == 200, answer.text
        served += 1
        end = time.monotonic() + 30  # bounds a failure only
        while completions(server, "p-shared-cap") < served and time.monotonic() < end:
            time.sleep(0.02)
    assert statuses[-1] == 429, statuses
    # Never refused below the cap; over it by at most what the other worker had not yet seen.
    assert CAP <= served * SPEND <= CAP + 2 * SPEND, statuses
