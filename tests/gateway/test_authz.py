"""clearance as Envoy's external authorizer: gRPC (a client built from Envoy's published protos) and HTTP.

A real ``clearance serve`` holds the registry and the admin API; a real ``clearance authz
serve`` on the same database answers the checks. Every verdict's decision is in the audit log.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from gateway_kit import Authorizer, Server, start_authorizer, start_server, stop_process, stop_server

grpc = pytest.importorskip("grpc", reason="the gRPC authorizer needs grpcio: pip install 'clearance[authz]'")
auth = pytest.importorskip("envoy.service.auth.v3.external_auth_pb2",
                           reason="Envoy's protos are needed: pip install xds-protos")
from envoy.service.auth.v3 import attribute_context_pb2, external_auth_pb2_grpc  # noqa: E402
from google.rpc import code_pb2  # noqa: E402

CHAT = {"model": "mythos-5", "messages": [{"role": "user", "content": "Summarise the control regime"}],
        "max_tokens": 64}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Authorizer]]:
    server = start_server(tmp_path_factory.mktemp("serve"))
    authorizer = start_authorizer(server)
    yield server, authorizer
    stop_process(authorizer.process)
    stop_server(server)


@pytest.fixture(scope="module")
def stub(served) -> Iterator[external_auth_pb2_grpc.AuthorizationStub]:
    channel = grpc.insecure_channel(served[1].grpc)
    yield external_auth_pb2_grpc.AuthorizationStub(channel)
    channel.close()


def check_request(headers: dict[str, str], body: dict | None = None, path: str = "/v1/chat/completions",
                  scheme: str = "http") -> auth.CheckRequest:
    http = attribute_context_pb2.AttributeContext.HttpRequest(
        method="POST", path=path, scheme=scheme, host="models.example", headers={k.lower(): v for k, v in headers.items()},
        raw_body=json.dumps(body).encode() if body is not None else b"")
    return auth.CheckRequest(attributes=attribute_context_pb2.AttributeContext(
        request=attribute_context_pb2.AttributeContext.Request(http=http)))


def person(server: Server, entity: str = "stripe", use_case: str = "software-engineering") -> tuple[str, str]:
    pid = f"p-authz-{uuid.uuid4().hex[:6]}"
    server.person(pid, entity, ["US"], "US")
    return pid, server.key(pid, use_case)[1]


def decisions(server: Server, pid: str) -> list[dict]:
    response = server.admin_call("GET", "/v1/audit/records", params={"person": pid, "kind": "decision"})
    return response.json()["records"]


def test_grpc_allow_sets_the_decision_headers_removes_the_key_and_is_recorded_first(served, stub):
    server, _ = served
    pid, token = person(server)
    reply = stub.Check(check_request({"Authorization": f"Bearer {token}"}, CHAT), timeout=30)
    assert reply.status.code == code_pb2.OK and reply.HasField("ok_response")
    headers = {h.header.key: h.header.value for h in reply.ok_response.headers}
    assert set(reply.ok_response.headers_to_remove) == {"authorization", "x-api-key"}
    recorded = decisions(server, pid)  # the decision is durable before the answer: no waiting
    assert [str(r["seq"]) for r in recorded] == [headers["x-clearance-decision-id"]]
    body = recorded[0]["body"]
    assert body["source"] == "ext-authz" and body["decision"]["outcome"] == "permit"
    assert body["client"]["via"] == "envoy-grpc" and body["path"] == "/v1/chat/completions"
    assert headers["x-clearance-authorization"] == body["decision"]["authorization"]
    assert "monitoring" in headers["x-clearance-obligations"].split(",")


def test_grpc_deny_carries_the_gateways_403_body_and_the_decision_id(served, stub):
    server, _ = served
    pid, token = person(server)
    # 127.0.0.1 is a trusted proxy in the gateway file: its location header is believed.
    reply = stub.Check(check_request({"Authorization": f"Bearer {token}", "X-Client-Country": "CN"}, CHAT), timeout=30)
    assert reply.status.code == code_pb2.PERMISSION_DENIED and reply.denied_response.status.code == 403
    error = json.loads(reply.denied_response.body)["error"]
    assert error["code"] == "destination-not-authorized" and error["type"] == "permission_error"
    assert [r["seq"] for r in decisions(server, pid)] == [error["clearance"]["decision_id"]]
    headers = {h.header.key: h.header.value for h in reply.denied_response.headers}
    assert headers["x-clearance-decision-id"] == str(error["clearance"]["decision_id"])


def test_grpc_bad_key_is_unauthenticated_and_nothing_is_decided(served, stub):
    reply = stub.Check(check_request({"Authorization": "Bearer nope"}, CHAT), timeout=30)
    assert reply.status.code == code_pb2.UNAUTHENTICATED and reply.denied_response.status.code == 401
    assert json.loads(reply.denied_response.body)["error"]["code"] == "invalid-api-key"


def test_the_model_comes_from_the_body_or_a_header_and_they_must_agree(served, stub):
    server, _ = served
    pid, token = person(server)
    bearer = {"Authorization": f"Bearer {token}"}
    assert stub.Check(check_request({**bearer, "X-Clearance-Model": "mythos-5"}), timeout=30).status.code == code_pb2.OK
    mismatch = stub.Check(check_request({**bearer, "X-Clearance-Model": "open-7b"}, CHAT), timeout=30)
    assert mismatch.denied_response.status.code == 400
    assert json.loads(mismatch.denied_response.body)["error"]["code"] == "model-mismatch"
    neither = stub.Check(check_request(bearer), timeout=30)
    assert neither.denied_response.status.code == 400
    assert [r["body"]["decision"]["model"] if "model" in r["body"]["decision"] else r["body"]["request"]["model"]
            for r in decisions(server, pid)] == ["mythos-5"]


def test_an_anthropic_call_is_read_in_its_own_format(served, stub):
    server, _ = served
    pid, token = person(server)
    body = {"model": "mythos-5", "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]}
    reply = stub.Check(check_request({"x-api-key": token}, body, path="/v1/messages"), timeout=30)
    assert reply.status.code == code_pb2.OK
    refused = stub.Check(check_request({"x-api-key": "nope"}, body, path="/v1/messages"), timeout=30)
    assert json.loads(refused.denied_response.body)["type"] == "error"  # Anthropic's error shape


def test_encryption_required_believes_a_trusted_envoys_scheme(served, stub):
    server, _ = served
    pid, token = person(server, "vector-institute", "research")
    headers = {"Authorization": f"Bearer {token}", "X-Client-Country": "CA"}
    plain = stub.Check(check_request(headers, CHAT), timeout=30)
    assert json.loads(plain.denied_response.body)["error"]["code"] == "encryption-required"
    assert stub.Check(check_request(headers, CHAT, scheme="https"), timeout=30).status.code == code_pb2.OK


def test_a_capped_licence_spends_its_reservations_and_then_refuses_with_429(served, stub):
    server, _ = served
    licence = {"kind": "individual-licence", "models": ["gpt-5.6-sol"], "valid": {"from": "2026-01-01T00:00:00Z"},
               "covers": {"entities": ["amazon"]}, "use_cases": {"use_cases": ["general"]},
               "obligations": [{"code": "monitoring"}, {"code": "usage-cap", "tokens_per_day": 200, "per": "person"}]}
    response = server.admin_call("PUT", "/v1/licences/LIC-AUTHZ-CAP", json={"record": licence, "reason": "test"})
    assert response.status_code == 201, response.text
    pid, token = person(server, "amazon", "general")
    body = {**CHAT, "model": "gpt-5.6-sol", "max_tokens": 60}
    allowed = stub.Check(check_request({"Authorization": f"Bearer {token}"}, body), timeout=30)
    headers = {h.header.key: h.header.value for h in allowed.ok_response.headers}
    assert allowed.status.code == code_pb2.OK and headers["x-clearance-max-tokens"] == "60"
    statuses = [allowed.status.code]
    for _ in range(10):  # bounded: each check reserves about 70 of the 200 and nothing gives it back
        reply = stub.Check(check_request({"Authorization": f"Bearer {token}"}, body), timeout=30)
        statuses.append(reply.status.code)
        if reply.status.code != code_pb2.OK:
            break
    assert statuses.count(code_pb2.OK) in (2, 3) and reply.denied_response.status.code == 429
    assert json.loads(reply.denied_response.body)["error"]["code"] == "usage-cap-exceeded"


def test_envoy_http_ext_authz_allows_with_headers_and_denies_with_the_gateways_body(served):
    server, authorizer = served
    pid, token = person(server)
    allowed = httpx.post(authorizer.http + "/ext_authz/v1/chat/completions", json=CHAT,
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert allowed.status_code == 200
    assert allowed.headers["x-envoy-auth-headers-to-remove"] == "authorization,x-api-key"
    seq = allowed.headers["x-clearance-decision-id"]
    denied = httpx.post(authorizer.http + "/ext_authz/v1/chat/completions", json=CHAT,
                        headers={"Authorization": f"Bearer {token}", "X-Client-Country": "CN"}, timeout=30)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "destination-not-authorized"
    assert [str(r["seq"]) for r in decisions(server, pid)] == [seq, denied.headers["x-clearance-decision-id"]]
    for r in decisions(server, pid):
        assert r["body"]["client"]["via"] == "envoy-http"


def test_a_revocation_is_in_force_at_the_authorizer_when_the_admin_call_returns(served, stub):
    server, _ = served
    pid, token = person(server)
    key_id = token.split("_")[1]
    assert stub.Check(check_request({"Authorization": f"Bearer {token}"}, CHAT), timeout=30).status.code == code_pb2.OK
    response = server.admin_call("POST", f"/v1/credentials/{key_id}/revoke", json={"reason": "test"})
    assert response.status_code == 200, response.text
    started = time.monotonic()
    reply = stub.Check(check_request({"Authorization": f"Bearer {token}"}, CHAT), timeout=30)
    assert reply.status.code == code_pb2.UNAUTHENTICATED, time.monotonic() - started
