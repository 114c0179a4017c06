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
