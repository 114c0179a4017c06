"""The gateway as customers use it: the official ``openai`` package against a running ``clearance serve``."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

TRY = {"role": "user", "content": "Summarise the control regime in one line"}


OPEN: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients():
    """Every SDK client a test made is closed after it, so no socket is left to the collector."""
    yield
    while OPEN:
        OPEN.pop().close()


def client(server, token: str, **headers: str) -> openai.OpenAI:
    made = openai.OpenAI(base_url=server.base + "/v1", api_key=token, default_headers=headers, max_retries=0,
                         timeout=30)
    OPEN.append(made)
    return made


def chat(c: openai.OpenAI, model: str = "mythos-5", **extra):
    return c.chat.completions.create(model=model, messages=[TRY], **extra)


def audit(server, **params) -> list[dict]:
    response = server.admin_call("GET", "/v1/audit/records", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()["records"]


def settled(server, person: str, kinds: set[str], count: int, deadline_s: float = 10.0) -> list[dict]:
    """Completion records are written after the answer: wait (bounded) until ``count`` are there."""
    end = time.monotonic() + deadline_s
    while True:
        found = [r for r in audit(server, person=person) if r["kind"] in kinds]
        if len(found) >= count or time.monotonic() > end:
            return found
        time.sleep(0.05)


def test_the_demo_key_gets_an_answer_and_both_records(server):
    reply = chat(client(server, server.demo_key))
    assert "You said: Summarise" in reply.choices[0].message.content
    assert reply.usage.total_tokens > 0
    records = settled(server, "demo-user", {"decision", "completion"}, 2)
    decision = next(r for r in records if r["kind"] == "decision")["body"]
    completion = next(r for r in records if r["kind"] == "completion")["body"]
    assert decision["decision"]["outcome"] == "permit" and decision["source"] == "gateway"
    assert completion["usage"]["total_tokens"] == reply.usage.total_tokens
    assert completion["decision_seq"] == next(r for r in records if r["kind"] == "decision")["seq"]


def test_streaming_passes_chunks_through_and_counts_tokens(server):
    server.person("p-stream", "stripe", ["US"], "US")
    _, token = server.key("p-stream", "software-engineering")
    c = client(server, token)
    pieces, usage = [], None
    for chunk in chat(c, stream=True, stream_options={"include_usage": True}):
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.usage:
            usage = chunk.usage
    assert "".join(pieces).startswith("[demo model mythos-5] You said:") and len(pieces) > 3
    completion = [r for r in settled(server, "p-stream", {"completion"}, 1) if r["kind"] == "completion"][0]["body"]
    assert completion["stream"] is True and completion["complete"] is True
    assert completion["usage"]["total_tokens"] == usage.total_tokens and completion["usage_counted"] is False
    # Without include_usage the upstream sends no usage: the gateway counts what passed.
    list(chat(c, stream=True))
    counted = settled(server, "p-stream", {"completion"}, 2)[-1]["body"]
    assert counted["usage_counted"] is True and counted["usage"]["completion_tokens"] > 0


def test_completions_embeddings_and_models(server):
    c = client(server, server.demo_key)
    completion = c.completions.create(model="mythos-5", prompt="hello there")
    assert "You said" in completion.choices[0].text and completion.choices[0].index == 0
    assert completion.object == "text_completion" and completion.usage.prompt_tokens == 2
    vectors = c.embeddings.create(model="mythos-5", input=["a", "b"])
    assert len(vectors.data) == 2 and len(vectors.data[0].embedding) == 8
    assert all(-1 <= v <= 1 for d in vectors.data for v in d.embedding)  # unit-scaled, as embedding models give
    listed = {m.id for m in c.models.list()}
    assert "mythos-5" in listed and "fable-5" not in listed  # fable-5 is suspended: not usable now


SCENARIO_DENIALS = [
    # (person, entity, citizenships, location, model, use case, expected code)
    ("p-ir", "stripe", ["IR"], "US", "mythos-5", "software-engineering", "destination-embargoed"),
    ("p-amzn", "amazon", ["US"], "US", "mythos-5", "financial-risk-management", "use-case-not-authorized"),
    ("p-pltr", "palantir", ["US"], "US", "mythos-5", "military-command-control", "prohibited-use"),
    ("p-nwind", "northwind", ["US"], "US", "mythos-5", "software-engineering", "entity-unqualified"),
    ("p-nist", "nist", ["US"], "US", "gpt-5.6-sol", "research", "license-required"),
    ("p-360", "qihoo-360", ["CN"], "CN", "open-7b", "general", "restricted-party"),
    ("p-fable", "stripe", ["US"], "US", "fable-5", "general", "model-suspended"),
    ("p-cn", "stripe", ["US"], "CN", "mythos-5", "software-engineering", "destination-not-authorized"),
    ("p-m6", "stripe", ["US"], "US", "mythos-6", "general", "unknown-model"),
    ("p-astro", "stripe", ["US"], "US", "mythos-5", "astrology", "unknown-use-case"),
]


@pytest.mark.parametrize("person,entity,citizenships,location,model,use_case,code", SCENARIO_DENIALS,
                         ids=[row[-1] for row in SCENARIO_DENIALS])
def test_each_scenario_denial_is_a_403_with_its_code_and_is_audited(server, person, entity, citizenships, location,
                                                                     model, use_case, code):
    server.person(person, entity, citizenships, "US")
    _, token = server.key(person)
    c = client(server, token, **{"X-Clearance-Use-Case": use_case, "X-Client-Country": location})
    with pytest.raises(openai.PermissionDeniedError) as caught:
        chat(c, model=model)
    error = caught.value
    assert error.code == code
    assert error.body["clearance"]["outcome"] == "deny"
    recorded = [r for r in audit(server, person=person) if r["kind"] == "decision"]
    assert [r["body"]["decision"]["code"] for r in recorded] == [code]
    assert error.body["clearance"]["decision_id"] == recorded[0]["seq"]
    assert not [r for r in audit(server, person=person) if r["kind"] == "completion"]  # nothing was forwarded


def test_a_suspended_authorization_is_a_403_with_its_code(server):
    # A licence of the registry's own, without an end date, so the case does not expire with the
    # bundle's dated ones; its suspension covers the one entity.
    record = {"kind": "conditional-access", "models": ["gpt-5.6-luna"], "valid": {"from": "2026-01-01T00:00:00Z"},
              "covers": {"entities": ["preferred-networks"]}, "destinations": {"deemed": {"groups": ["allies"]},
                                                                               "location": {"groups": ["allies"]}},
              "use_cases": {"use_cases": ["research"]}, "obligations": [{"code": "monitoring"}],
              "suspensions": [{"id": "SUS-TEST-PFN", "entity": "preferred-networks", "from": "2026-01-02T00:00:00Z",
                               "reason": "threat assessment"}]}
    response = server.admin_call("PUT", "/v1/licences/LIC-TEST-PFN", json={"record": record, "reason": "test"})
    assert response.status_code == 201, response.text
    server.person("p-pfn", "preferred-networks", ["JP"], "JP")
    _, token = server.key("p-pfn")
    c = client(server, token, **{"X-Clearance-Use-Case": "research", "X-Client-Country": "JP"})
    with pytest.raises(openai.PermissionDeniedError) as caught:
        chat(c, model="gpt-5.6-luna")
    assert caught.value.code == "authorization-suspended"


def test_a_possible_restricted_party_match_waits_for_review(server):
    server.person("p-review", "darpa", ["US"], "US")
    _, token = server.key("p-review", "software-engineering")
    assert chat(client(server, token)).choices
    finding = {"record": {"status": "possible", "list": "Entity List", "reason": "name resembles a listed party"},
               "reason": "screening"}
    assert server.admin_call("PUT", "/v1/restrictions/person:p-review", json=finding).status_code == 201
    with pytest.raises(openai.PermissionDeniedError) as caught:
        chat(client(server, token))
    assert caught.value.code == "pending-review" and caught.value.body["clearance"]["outcome"] == "review"


def test_encryption_required_is_enforced_unless_a_trusted_proxy_says_https(server):
    # The bundle's TLS-bound authorization ends on 2026-12-31: a registry licence without an end stands in.
    record = {"kind": "individual-licence", "models": ["gpt-5.6-luna"], "valid": {"from": "2026-01-01T00:00:00Z"},
              "covers": {"entities": ["vector-institute"]}, "destinations": {"deemed": {"groups": ["allies"]},
                                                                             "location": {"groups": ["allies"]}},
              "use_cases": {"use_cases": ["research"]}, "obligations": [{"code": "encryption-required"}]}
    response = server.admin_call("PUT", "/v1/licences/LIC-TEST-TLS", json={"record": record, "reason": "test"})
    assert response.status_code == 201, response.text
    server.person("p-vector", "vector-institute", ["CA"], "CA")
    _, token = server.key("p-vector", "research")
    plain = client(server, token, **{"X-Client-Country": "CA"})
    with pytest.raises(openai.PermissionDeniedError) as caught:
        chat(plain, model="gpt-5.6-luna")
    assert caught.value.code == "encryption-required"
    block = caught.value.body["clearance"]  # every refusal says which decision and which policy
    assert isinstance(block["decision_id"], int) and block["policy_version"].startswith("sha256:")
    tls = client(server, token, **{"X-Client-Country": "CA", "X-Forwarded-Proto": "https"})
    assert chat(tls, model="gpt-5.6-luna").choices[0].message.content


def test_a_new_licence_with_a_usage_cap_permits_at_once_then_answers_429(server):
    server.person("p-capped", "nist", ["US"], "US")
    _, token = server.key("p-capped", "research")
    c = client(server, token)
    with pytest.raises(openai.PermissionDeniedError):
        chat(c, model="gpt-5.6-sol")
    licence = {"kind": "individual-licence", "models": ["gpt-5.6-sol"], "valid": {"from": "2026-01-01T00:00:00Z"},
               "covers": {"entities": ["nist"]}, "use_cases": {"use_cases": ["research"]},
               "obligations": [{"code": "monitoring"}, {"code": "usage-cap", "tokens_per_day": 40, "per": "entity"}]}
    response = server.admin_call("PUT", "/v1/licences/LIC-TEST-CAP", json={"record": licence, "reason": "approved"})
    assert response.status_code == 201, response.text
    served = 0
    with pytest.raises(openai.RateLimitError) as caught:
        for _ in range(30):  # bounded: each call spends about 15 tokens of the 40
            chat(c, model="gpt-5.6-sol")
            served += 1
            settled(server, "p-capped", {"completion"}, served)  # its tokens are counted once it is recorded
    spent = [r["body"]["usage"]["total_tokens"] for r in settled(server, "p-capped", {"completion"}, served)]
    # Served while the cap had room for the call, and never more than the cap in all.
    assert served >= 1 and len(spent) == served and sum(spent) <= 40
    assert caught.value.code == "usage-cap-exceeded"
    assert caught.value.body["clearance"]["reset"].endswith("T00:00:00Z")
    assert caught.value.response.headers["retry-after"]
    hits = [r for r in audit(server, entity="nist", kind="monitoring")]
    assert hits and hits[-1]["body"]["event"] == "cap-exceeded"
    # The cap binds every key of the entity, admin-issued or not.
    server.person("p-capped-2", "nist", ["US"], "US")
    _, other = server.key("p-capped-2", "research")
    with pytest.raises(openai.RateLimitError):
        chat(client(server, other), model="gpt-5.6-sol")


def test_a_revoked_key_stops_working_mid_stream_of_requests(server):
    server.person("p-revoke", "stripe", ["US"], "US")
    key, token = server.key("p-revoke", "software-engineering")
    c = client(server, token)
    outcomes = []
    for i in range(20):  # bounded
        if i == 10:
            response = server.admin_call("POST", f"/v1/credentials/{key}/revoke", json={"reason": "leaked"})
            assert response.status_code == 200, response.text
        try:
            chat(c)
            outcomes.append("ok")
        except openai.AuthenticationError:
            outcomes.append("401")
    # In force when the revoking call returns: the very next call is refused, and every one after.
    assert outcomes == ["ok"] * 10 + ["401"] * 10


def test_health_says_ok_and_names_the_policy_and_registry_state(server):
    health = httpx.get(server.base + "/healthz", timeout=30)
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["policy_version"].startswith("sha256:") and "snapshot_error" not in body
    assert body["registry_seq"] >= 0


def test_missing_and_wrong_keys_are_refused(server):
    with pytest.raises(openai.AuthenticationError):
        chat(client(server, "clr_nope_nothing"))
    with pytest.raises(openai.PermissionDeniedError) as caught:
        chat(client(server, server.admin))  # an admin token is not a model-use key
    assert caught.value.code == "key-not-for-models"


def test_an_obligation_no_handler_knows_is_refused_when_written_never_at_call_time(server):
    server.person("p-unknown-duty", "nist", ["US"], "US")
    _, token = server.key("p-unknown-duty", "general")
    licence = {"kind": "individual-licence", "models": ["gpt-5.6-sol"], "valid": {"from": "2026-01-01T00:00:00Z"},
               "covers": {"entities": ["nist"]}, "use_cases": {"use_cases": ["general"]},
               "obligations": [{"code": "human-review-of-every-output"}]}
    response = server.admin_call("PUT", "/v1/licences/LIC-TEST-DUTY", json={"record": licence, "reason": "test"})
    assert response.status_code == 422, response.text
    assert "unknown obligation `human-review-of-every-output`" in response.text
    for bad in ({"code": "usage-cap", "tokens_per_day": "lots"}, {"code": "usage-cap", "tokens_per_day": 5, "per": "galaxy"}):
        body = {"record": {**licence, "obligations": [bad]}, "reason": "test"}
        assert server.admin_call("PUT", "/v1/licences/LIC-TEST-DUTY", json=body).status_code == 422
    assert server.admin_call("GET", "/v1/history/authorization/LIC-TEST-DUTY").json() == []  # nothing was stored
    with pytest.raises(openai.PermissionDeniedError) as caught:
        chat(client(server, token), model="gpt-5.6-sol")
    assert caught.value.code != "unsupported-obligation"  # the licence never existed, so it is the usual deny


def test_the_server_signs_tree_heads_by_itself_as_the_log_grows(server):
    chat(client(server, server.demo_key))
    size = len(audit(server))
    deadline = time.monotonic() + 10
    heads: list[dict] = []
    while time.monotonic() < deadline:  # bounded; the server signs every 0.3 s here
        heads = server.admin_call("GET", "/v1/audit/heads").json()
        if heads and heads[-1]["size"] >= size:
            break
        time.sleep(0.1)
    assert heads and heads[-1]["size"] >= size


def test_each_decision_record_carries_the_call_metadata(server):
    c = openai.OpenAI(base_url=server.base + "/v1", api_key=server.demo_key, max_retries=0,
                      default_headers={"User-Agent": "audit-metadata-test/1"})
    OPEN.append(c)
    chat(c)
    decision = [r for r in audit(server, person="demo-user", kind="decision")][-1]["body"]
    assert decision["client"]["address"] == "127.0.0.1" and decision["client"]["tls"] is False
    assert decision["client"]["user_agent"] == "audit-metadata-test/1" and decision["client"]["bytes"] > 0


def test_an_oversized_body_is_refused_before_it_is_read_whole(server):
    huge = {"model": "mythos-5", "messages": [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]}
    response = httpx.post(server.base + "/v1/chat/completions", json=huge, timeout=30,
                          headers={"Authorization": f"Bearer {server.demo_key}"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "body-too-large"


def test_the_demo_model_counts_prompt_words_and_reads_content_parts(server):
    c = client(server, server.demo_key)
    reply = chat(c)  # "Summarise the control regime in one line": 7 words
    assert reply.usage.prompt_tokens == 7
    parts = c.chat.completions.create(model="mythos-5", messages=[
        {"role": "user", "content": [{"type": "text", "text": "two"}, {"type": "text", "text": "parts"}]}])
    assert parts.choices[0].message.content.endswith("You said: two parts") and parts.usage.prompt_tokens == 2
