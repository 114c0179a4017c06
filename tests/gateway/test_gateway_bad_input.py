"""A bad caller gets a clear 4xx naming its field and harms no one else (issue 13), on PostgreSQL.

A real ``clearance serve`` on 127.0.0.1 over a fresh PostgreSQL schema; every load loop is
bounded in count.
"""

from __future__ import annotations

import concurrent.futures
import socket
from collections.abc import Iterator

import httpx
import pytest
from gateway_kit import Server, start_server, stop_server

GOOD_CALLERS, GOOD_CALLS, BAD_CALLS = 6, 30, 60


@pytest.fixture(scope="module")
def pg_served(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Server]:
    url = request.getfixturevalue("pg_schema_url_module")
    running = start_server(tmp_path_factory.mktemp("serve-pg"), env_extra={
        "CLEARANCE_DATABASE_URL": url, "CLEARANCE_EVENTS_URL": url.split("?")[0]})
    yield running
    stop_server(running)


def _chat(client: httpx.Client, base: str, token: str, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
    return client.post(base + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"})


def test_a_nul_in_model_is_a_400_for_its_caller_and_no_other_call_fails(pg_served):
    server = pg_served

    def good(_: int) -> list[int]:
        with httpx.Client(timeout=30) as client:
            return [_chat(client, server.base, server.demo_key, "mythos-5").status_code for _ in range(GOOD_CALLS)]

    def bad() -> list[httpx.Response]:
        with httpx.Client(timeout=30) as client:
            return [_chat(client, server.base, server.demo_key, "mythos-5\x00") for _ in range(BAD_CALLS)]

    with concurrent.futures.ThreadPoolExecutor(GOOD_CALLERS + 1) as pool:
        bad_future = pool.submit(bad)
        statuses = [s for batch in pool.map(good, range(GOOD_CALLERS)) for s in batch]
        refused = bad_future.result()
    assert statuses == [200] * (GOOD_CALLERS * GOOD_CALLS)
    assert {r.status_code for r in refused} == {400}
    error = refused[0].json()["error"]
    assert error["code"] == "invalid-request" and error["param"] == "model" and "U+0000" in error["message"]


def test_a_nul_in_a_decision_document_is_an_invalid_request_decision_and_is_recorded(pg_served):
    document = {"model": "mythos-5", "entity": "stripe\x00", "use_case": "general",
                "person": {"id": "p-nul\x00", "citizenships": ["US"], "location": "US"}}
    response = pg_served.admin_call("POST", "/v1/decisions", json=document)
    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["code"] == "invalid-request"
    assert "entity" in decision["reasons"][0]["message"] and "control characters" in decision["reasons"][0]["message"]
    record = pg_served.admin_call("GET", "/v1/audit/records", params={"after_seq": decision["decision_id"] - 1,
                                                                      "limit": 1}).json()["records"][0]
    assert record["body"]["request"]["entity"] == "stripe\x00"


def test_an_anonymous_200_mib_put_hears_401_without_sending_its_body(pg_served):
    """Over a real socket: the answer comes after the headers and 64 KiB, not after 200 MiB."""
    host, port = pg_served.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"PUT /v1/licences/X HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % (200 * 1024 * 1024) + b"x" * 65536)
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 401"), reply[:200]
