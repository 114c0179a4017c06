"""Enforcement edges of a running ``clearance serve``, each one a bug a test must notice.

The server forwards ``mythos-5`` and ``gpt-5.6-luna`` to a counting upstream that keeps every
body it receives, so "never forwarded" is a fact about the upstream, not an inference. Token
counts are chosen by the prompt (see ``counting_upstream``), so cap boundaries are exact. Waits
are on the event itself (a record in the audit log, a refusal), bounded by a generous deadline
that only limits how long a failure takes to report.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from counting_upstream import CountingUpstream
from gateway_kit import Server, start_server, stop_server

DEADLINE_S = 30.0  # bounds a failing wait only; a passing one returns as soon as it sees the event


def eventually(what: str, check: Callable[[], Any], deadline_s: float = DEADLINE_S) -> Any:
    """``check()``'s first truthy value, polled until ``deadline_s`` passes (then the test fails)."""
    end = time.monotonic() + deadline_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > end:
            pytest.fail(f"not within {deadline_s:.0f} s: {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def upstream() -> Iterator[CountingUpstream]:
    running = CountingUpstream()
    yield running
    running.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, upstream: CountingUpstream) -> Iterator[Server]:
    config = (f"upstreams:\n  - name: counting\n    base_url: {upstream.base_url}\n"
              "    models: [mythos-5, gpt-5.6-luna]\n"
              f"  - name: renamed\n    base_url: {upstream.base_url}\n    models: [gpt-5.6-terra]\n"
              "    upstream_model: vendor/terra-v1\n"
              "trusted_proxies: [127.0.0.1/32]\nlocation_header: X-Client-Country\ntls_header: X-Forwarded-Proto\n")
    running = start_server(tmp_path_factory.mktemp("edges"), gateway_yaml=config)
    yield running
    stop_server(running)


def call(server: Server, token: str, prompt: str, model: str = "mythos-5", stream: bool = False,
         **headers: str) -> httpx.Response:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    if stream:
        body["stream"] = True
    return httpx.post(server.base + "/v1/chat/completions", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {token}", **headers})


def records(server: Server, **params: Any) -> list[dict]:
    response = server.admin_call("GET", "/v1/audit/records", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()["records"]


def completions(server: Server, person: str, count: int) -> list[dict]:
    """The completion records of ``person`` once there are ``count`` (they are written after the answer)."""
    return eventually(f"{count} completion records of {person}",
                      lambda: (found := [r["body"] for r in records(server, person=person, kind="completion")])
                      and len(found) >= count and found)


def licence(server: Server, licence_id: str, entity: str, obligations: list[dict]) -> None:
    record = {"kind": "individual-licence", "models": ["gpt-5.6-luna"], "valid": {"from": "2026-01-01T00:00:00Z"},
              "covers": {"entities": [entity]}, "use_cases": {"use_cases": ["general"]}, "obligations": obligations}
    response = server.admin_call("PUT", f"/v1/licences/{licence_id}", json={"record": record, "reason": "test"})
    assert response.status_code == 201, response.text


def member(server: Server, person: str, entity: str, use_case: str = "general") -> str:
    server.person(person, entity, ["US"], "US")
    return server.key(person, use_case)[1]


# -- (a) a decision that cannot be recorded is not served -------------------------------------------

def test_a_call_whose_decision_cannot_be_recorded_is_503_and_never_reaches_the_upstream(server, upstream):
    token = member(server, "p-audit-down", "stripe", "software-engineering")
    assert call(server, token, "before the outage").status_code == 200
    completions(server, "p-audit-down", 1)  # nothing of this person's is still on its way to the log
    db = sqlite3.connect(server.workdir / "clearance.db", timeout=30)
    try:
        # The audit table refuses every row, as a full disk or a lost database would.
        db.execute("CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_records "
                   "BEGIN SELECT RAISE(ABORT, 'audit refused by the test'); END")
        db.commit()
        refused = call(server, token, "must never be forwarded")
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "audit-unavailable"
        assert refused.json()["error"]["type"] == "service_unavailable"
        assert "must never be forwarded" not in upstream.prompts()
    finally:
        db.execute("DROP TRIGGER IF EXISTS test_refuse_audit")
        db.commit()
        db.close()
    # The same call once the log takes records again: recorded, then forwarded.
    assert call(server, token, "after the outage").status_code == 200
    assert "after the outage" in upstream.prompts() and "must never be forwarded" not in upstream.prompts()


# -- (d) the cap refuses at exactly its limit -------------------------------------------------------

def test_a_usage_cap_serves_a_call_that_fits_exactly_and_refuses_one_token_more(server, upstream):
    from clearance.gateway.usage import prompt_bound

    ask = {"model": "gpt-5.6-luna", "messages": [{"role": "user", "content": "usage:1"}]}
    least = prompt_bound(ask) + 1  # a capped call needs room for its prompt and one completion token
    licence(server, "LIC-EDGE-CAP", "stripe",
            [{"code": "usage-cap", "tokens_per_day": 30 + least, "per": "entity"}])
    token = member(server, "p-cap-edge", "stripe")
    assert call(server, token, "usage:30", model="gpt-5.6-luna").status_code == 200  # settles to 30 used
    completions(server, "p-cap-edge", 1)
    assert call(server, token, "usage:1", model="gpt-5.6-luna").status_code == 200  # room == least: served
    completions(server, "p-cap-edge", 2)
    at_cap = call(server, token, "usage:1", model="gpt-5.6-luna")  # room == least - 1
    assert at_cap.status_code == 429, at_cap.text
    error = at_cap.json()["error"]
    assert error["code"] == "usage-cap-exceeded" and error["clearance"]["used"] == 31
    assert error["type"] == "rate_limit_error"
    # Retry when the day's counters reset: the next UTC midnight, at most a day away.
    reset = datetime.fromisoformat(at_cap.headers["x-clearance-cap-reset"].replace("Z", "+00:00"))
    assert reset == datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1) \
        or reset == datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)  # the call crossed midnight
    assert 1 <= int(at_cap.headers["retry-after"]) <= 86_400
    assert upstream.prompts().count("usage:1") == 1


# -- (c) a stream without upstream usage is metered on what it carried --------------------------------

def test_a_stream_without_usage_counts_its_completion_text_against_the_cap(server):
    licence(server, "LIC-EDGE-STREAM", "amazon", [{"code": "usage-cap", "tokens_per_day": 1000, "per": "entity"}])
    token = member(server, "p-stream-edge", "amazon")
    streamed = call(server, token, "text:4400", model="gpt-5.6-luna", stream=True)  # 1,100 tokens of text
    assert streamed.status_code == 200 and streamed.text.count("data: ") == 89  # 88 chunks and [DONE]
    (done,) = completions(server, "p-stream-edge", 1)
    assert done["usage_counted"] is True and done["complete"] is True
    assert done["usage"]["completion_tokens"] == 1100
    assert done["usage"]["total_tokens"] == done["usage"]["prompt_tokens"] + 1100
    refused = call(server, token, "and again", model="gpt-5.6-luna")
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["clearance"]["used"] >= 1100


# -- (e) content monitoring keeps the content ---------------------------------------------------------

def test_content_monitoring_records_what_was_asked_and_answered(server):
    licence(server, "LIC-EDGE-CONTENT", "palantir", [{"code": "monitoring", "content": True}])
    token = member(server, "p-content", "palantir")
    assert call(server, token, "what is kept", model="gpt-5.6-luna").status_code == 200
    (plain,) = completions(server, "p-content", 1)
    assert plain["request_content"] == [{"role": "user", "content": "what is kept"}]
    assert plain["response_content"] == ["echo: what is kept"]
    assert call(server, token, "text:120", model="gpt-5.6-luna", stream=True).status_code == 200
    streamed = completions(server, "p-content", 2)[-1]
    assert streamed["stream"] is True and streamed["response_content"] == "y" * 120
    assert streamed["request_content"] == [{"role": "user", "content": "text:120"}]


def test_monitoring_without_content_keeps_no_content(server):
    licence(server, "LIC-EDGE-NOCONTENT", "northwind", [{"code": "monitoring"}])
    token = member(server, "p-no-content", "northwind")
    assert call(server, token, "not kept", model="gpt-5.6-luna").status_code == 200
    (done,) = completions(server, "p-no-content", 1)
    assert "request_content" not in done and "response_content" not in done


# -- (f) a revocation scheduled for later takes effect at its instant ----------------------------------

def test_a_revocation_scheduled_for_later_takes_effect_at_its_instant(server):
    server.person("p-later", "stripe", ["US"], "US")
    key, token = server.key("p-later", "software-engineering")
    effective = datetime.now(UTC) + timedelta(seconds=2)
    response = server.admin_call("POST", f"/v1/credentials/{key}/revoke",
                                 json={"reason": "leaves on Friday", "effective": effective.isoformat()})
    assert response.status_code == 200, response.text
    # Still valid until then, and now cached under the registry's new state.
    assert call(server, token, "before").status_code == 200
    statuses: list[int] = []

    def refused() -> bool:
        statuses.append(call(server, token, "until refused").status_code)
        return statuses[-1] == 401

    eventually("the key refused after its scheduled revocation", refused)
    assert datetime.now(UTC) >= effective
    assert set(statuses) <= {200, 401} and statuses[-1] == 401


# -- (g) the reader scope: a model-use key reads nothing of the registry -------------------------------

def test_only_reader_scopes_may_read_the_registry(server):
    token = member(server, "p-no-reader", "stripe", "software-engineering")
    auth = {"Authorization": f"Bearer {token}"}
    for path in ("/v1/entities", "/v1/entities/stripe"):
        response = httpx.get(server.base + path, headers=auth, timeout=30)
        assert response.status_code == 403, (path, response.text)
    issued = server.admin_call("POST", "/v1/credentials", json={"scopes": ["entity:stripe"], "reason": "test"})
    reader = {"Authorization": f"Bearer {issued.json()['token']}"}
    listed = httpx.get(server.base + "/v1/entities", headers=reader, timeout=30)
    assert listed.status_code == 200 and [e["id"] for e in listed.json()] == ["stripe"]


# -- (b) forwarding headers count only from a trusted proxy ---------------------------------------------

UNTRUSTING = {
    "no-proxy": "trusted_proxies: []\nlocation_header: X-Client-Country\ntls_header: X-Forwarded-Proto\n",
    "other-proxy": "trusted_proxies: [192.0.2.1/32]\nlocation_header: X-Client-Country\ntls_header: X-Forwarded-Proto\n",
}


@pytest.fixture(scope="module", params=sorted(UNTRUSTING))
def untrusting(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp(f"untrusting-{request.param}"),
                           gateway_yaml=UNTRUSTING[request.param])
    yield running
    stop_server(running)


def test_location_and_tls_headers_from_an_untrusted_address_are_ignored(untrusting):
    server = untrusting
    # A US person in the US: a claimed trip to China would be refused if the header were believed.
    home = member(server, "p-home", "stripe", "software-engineering")
    assert call(server, home, "hi", **{"X-Client-Country": "CN"}).status_code == 200
    # A US person registered in China: claiming to be home changes nothing.
    server.person("p-away", "stripe", ["US"], "CN")
    _, away = server.key("p-away", "software-engineering")
    refused = call(server, away, "hi", **{"X-Client-Country": "US"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "destination-not-authorized"
    # TLS only on a proxy's word: plain HTTP stays plain.
    licence(server, "LIC-EDGE-TLS", "nsa", [{"code": "encryption-required"}])
    tls_only = member(server, "p-tls-plain", "nsa")
    refused = call(server, tls_only, "hi", model="gpt-5.6-luna", **{"X-Forwarded-Proto": "https"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "encryption-required"
    decision = [r for r in records(server, person="p-tls-plain", kind="decision")][-1]["body"]
    assert decision["client"]["tls"] is False
    assert decision["enforcement"] == {"status": 403, "code": "encryption-required"}


# -- a key's first calls arriving together are all served ------------------------------------------------

def test_the_first_calls_of_a_new_key_arriving_together_are_all_served(server):
    from concurrent.futures import ThreadPoolExecutor

    # Three fresh keys, 32 first calls each (bounded): the calls that find a key's lookup already
    # under way must wait for it and share its answer.
    for round_ in range(3):
        token = member(server, f"p-together-{round_}", "stripe", "software-engineering")
        with ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(pool.map(lambda n, t=token: call(server, t, f"together {n}").status_code, range(32)))
        assert statuses == [200] * 32, statuses


# -- TLS the server itself terminated counts as TLS ---------------------------------------------------------

def test_a_call_that_arrived_over_https_meets_encryption_required(tmp_path):
    from fastapi.testclient import TestClient
    from inprocess_kit import served

    from clearance.core.instant import parse_instant
    from clearance.store.clock import FixedClock

    # A fixed instant inside the trusted-foreign-research authorization's validity.
    clock = FixedClock(int(parse_instant("2026-07-01T10:00:00-04:00")))
    with served(tmp_path, clock, gateway_yaml="trusted_proxies: []\n") as app:
        stored = app.admin_call("PUT", "/v1/people/p-direct-tls", json={
            "record": {"entity": "vector-institute", "citizenships": ["CA"], "location": "CA"}, "reason": "test"})
        assert stored.status_code == 201, stored.text
        issued = app.admin_call("POST", "/v1/credentials", json={
            "scopes": ["gateway"], "person": "p-direct-tls", "default_use_case": "research", "reason": "test"})
        headers = {"Authorization": f"Bearer {issued.json()['token']}"}
        body = {"model": "mythos-5", "messages": [{"role": "user", "content": "hi"}]}
        plain = app.client.post("/v1/chat/completions", json=body, headers=headers)
        assert plain.status_code == 403 and plain.json()["error"]["code"] == "encryption-required"
        with TestClient(app.client.app, base_url="https://testserver", client=("127.0.0.1", 50000)) as tls:
            assert tls.post("/v1/chat/completions", json=body, headers=headers).status_code == 200


# -- a stream the client leaves is recorded as cut short ---------------------------------------------------

def test_a_stream_the_client_leaves_is_recorded_as_incomplete_with_499(server, upstream):
    token = member(server, "p-leaves", "stripe", "software-engineering")
    body = {"model": "mythos-5", "stream": True, "messages": [{"role": "user", "content": "slow:1000"}]}
    with httpx.stream("POST", server.base + "/v1/chat/completions", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status_code == 200
        next(response.iter_bytes())  # the first chunk, then the client hangs up
    (done,) = completions(server, "p-leaves", 1)
    assert done["complete"] is False and done["upstream_status"] == 499
    assert upstream.hung_up.wait(DEADLINE_S)  # and the gateway stopped the generation it was relaying


def test_a_body_sent_in_chunks_without_a_declared_length_is_read(server):
    token = member(server, "p-chunked", "stripe", "software-engineering")
    payload = json.dumps({"model": "mythos-5", "messages": [{"role": "user", "content": "sent in chunks"}]}).encode()
    chunks = (payload[i:i + 16] for i in range(0, len(payload), 16))  # no Content-Length: chunked transfer
    response = httpx.post(server.base + "/v1/chat/completions", content=chunks, timeout=30,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "echo: sent in chunks"


def test_a_reply_without_usage_is_metered_on_the_bytes_it_carried(server):
    token = member(server, "p-no-usage", "stripe", "software-engineering")
    answer = call(server, token, "text:400")  # a JSON reply with no usage block
    assert answer.status_code == 200
    (done,) = completions(server, "p-no-usage", 1)
    assert done["usage_counted"] is True
    assert done["usage"]["completion_tokens"] == (len(answer.content) + 3) // 4
    assert done["usage"]["total_tokens"] == done["usage"]["prompt_tokens"] + done["usage"]["completion_tokens"]


def test_a_model_no_upstream_serves_is_a_503_when_there_is_no_default(tmp_path):
    from inprocess_kit import served

    from clearance.store.clock import FixedClock

    with served(tmp_path, FixedClock(time.time_ns()), gateway_yaml="default_upstream: none\n") as app:
        stored = app.admin_call("PUT", "/v1/people/p-none", json={
            "record": {"entity": "stripe", "citizenships": ["US"], "location": "US"}, "reason": "test"})
        assert stored.status_code == 201, stored.text
        issued = app.admin_call("POST", "/v1/credentials", json={
            "scopes": ["gateway"], "person": "p-none", "default_use_case": "general", "reason": "test"})
        body = {"model": "open-7b", "messages": [{"role": "user", "content": "hi"}]}  # permitted, never controlled
        answer = app.client.post("/v1/chat/completions", json=body,
                                 headers={"Authorization": f"Bearer {issued.json()['token']}"})
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "no-upstream"



def test_a_model_is_sent_upstream_under_the_name_its_upstream_knows(server, upstream):
    token = member(server, "p-renamed", "contoso-bank", "financial-risk-management")
    answer = call(server, token, "which name", model="gpt-5.6-terra")
    assert answer.status_code == 200, answer.text
    (sent,) = [b for b in upstream.received if b["messages"][-1]["content"] == "which name"]
    assert sent["model"] == "vendor/terra-v1"


def test_a_body_that_is_not_a_request_is_a_400_naming_the_problem(server):
    auth = {"Authorization": f"Bearer {server.demo_key}", "Content-Type": "application/json"}
    url = server.base + "/v1/chat/completions"
    not_json = httpx.post(url, content=b"{not json", headers=auth, timeout=30)
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid-json"
    assert not_json.json()["error"]["type"] == "invalid_request_error"
    no_model = httpx.post(url, json={"messages": [{"role": "user", "content": "hi"}]}, headers=auth, timeout=30)
    assert no_model.status_code == 400
    assert (no_model.json()["error"]["code"], no_model.json()["error"]["param"]) == ("invalid-request", "model")
