"""``/healthz`` says 503 when calls cannot be served, not 200 "ok" beside a stream of 503s (issue 13)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from clearance.ports import StoreUnavailable
from clearance.server import create_server
from clearance.settings import Settings
from clearance.wiring import build_app, build_gateway


@pytest.fixture
def served(tmp_path):
    config = Settings(database_url=str(tmp_path / "c.db"), audit_keys=str(tmp_path / "keys"))
    app = build_app(config)
    app.service.put("person", "h-user", {"entity": "stripe", "citizenships": ["US"], "location": "US"}, reason="t")
    key = app.service.create_credential(["gateway"], reason="t", person="h-user",
                                        default_use_case="software-engineering", default_location="US").token
    with TestClient(create_server(build_gateway(config, app), app)) as client:
        yield client, app, key
    app.close()


def test_health_follows_the_registry_store_down_and_back_up(served, monkeypatch):
    client, app, key = served
    chat = {"model": "mythos-5", "messages": [{"role": "user", "content": "hi"}]}
    assert client.get("/healthz").json()["status"] == "ok"
    freshness = app.enforcer.freshness
    reachable = freshness._latest_seq

    def outage() -> int:
        raise StoreUnavailable("registry database (postgresql): OperationalError: connection refused")

    monkeypatch.setattr(freshness, "_latest_seq", outage)
    health = client.get("/healthz")
    call = client.post("/v1/chat/completions", json=chat, headers={"Authorization": f"Bearer {key}"})
    assert (health.status_code, call.status_code) == (503, 503)
    assert health.json()["status"] == "unavailable" and "connection refused" in health.json()["store_error"]
    monkeypatch.setattr(freshness, "_latest_seq", reachable)
    assert client.get("/healthz").status_code == 200
    assert client.post("/v1/chat/completions", json=chat, headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_a_key_without_a_use_case_is_told_the_header_and_the_use_cases(served):
    client, app, _ = served
    token = app.service.create_credential(["gateway"], reason="t", person="h-user", default_location="US").token
    headers = {"Authorization": f"Bearer {token}"}
    chat = {"model": "mythos-5", "messages": [{"role": "user", "content": "hi"}]}
    refused = client.post("/v1/chat/completions", json=chat, headers=headers)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["param"] == "use_case" and "X-Clearance-Use-Case" in error["message"]
    assert "software-engineering" in error["message"] and "--default-use-case" in error["message"]
    listing = client.get("/v1/models", headers=headers).json()
    assert listing["data"] == [] and "X-Clearance-Use-Case" in listing["clearance"]["note"]
    served_now = client.post("/v1/chat/completions", json=chat,
                             headers={**headers, "X-Clearance-Use-Case": "software-engineering"})
    assert served_now.status_code == 200


def test_health_names_the_bundle_hash_beside_the_live_policy_version(served):
    from typer.testing import CliRunner

    from clearance.cli.main import app as cli

    client, app, _ = served
    health = client.get("/healthz").json()
    assert health["bundle_version"] == CliRunner().invoke(cli, ["policy", "hash"]).stdout.strip()
    assert health["policy_version"] == health["bundle_version"]  # people and keys do not shape the policy
    app.service.put("entity", "acme-labs", {"name": "Acme Labs", "country": "US", "kind": "company"}, reason="t")
    after = client.get("/healthz").json()
    assert after["policy_version"] != after["bundle_version"] == health["bundle_version"]
    assert after["registry_seq"] > health["registry_seq"]
