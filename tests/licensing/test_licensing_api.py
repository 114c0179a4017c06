"""The licensing API: public criteria, scoped self-checks, applications by the applicant and by admins."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from clearance.api.app import create_app
from clearance.wiring import compose

LUNA_APP = {
    "entity": "stripe",
    "models": ["gpt-5.6-luna"],
    "use_cases": ["general"],
    "users": [{"citizenships": ["US"], "location": "US"}],
    "justification": "internal code assistant",
}
LUNA = {"model": "gpt-5.6-luna", "entity": "stripe", "use_case": "general", "person": {"citizenships": ["US"], "location": "US"}}


@pytest.fixture
def api(world):
    reg = world.registry
    tokens = {
        name: reg.create_credential(scopes, reason="test").token
        for name, scopes in {"admin": ["admin"], "auditor": ["auditor"], "stripe": ["entity:stripe"], "nist": ["entity:nist"]}.items()
    }
    client = TestClient(create_app(compose(reg, world.live, world.audit)))
    return client, {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}, world


def test_criteria_are_public_in_three_formats(api):
    client, _, _ = api
    doc = client.get("/v1/criteria").json()
    assert "annex-a" in [a["id"] for a in doc["authorizations"]]
    assert client.get("/v1/criteria?format=markdown").text.startswith("# Licensing criteria")
    assert "<table>" in client.get("/v1/criteria?format=html").text
    assert client.get("/v1/criteria?format=pdf").status_code == 422
    assert client.get("/v1/criteria?at=yesterday").status_code == 422


def test_self_check_needs_a_token_that_may_read_the_organization(api):
    client, h, _ = api
    body = {"organization": "stripe", "models": ["gpt-5.6-luna"], "use_cases": ["general"], "users": [{"citizenships": ["US"], "location": "US"}]}
    assert client.post("/v1/self-check", json=body).status_code == 401
    assert client.post("/v1/self-check", json=body, headers=h["nist"]).status_code == 403
    found = client.post("/v1/self-check", json=body, headers=h["stripe"]).json()
    assert found["outcome"] == "licence-needed"
    described = {**body, "organization": {"id": "acme", "country": "US", "kind": "company"}}
    assert client.post("/v1/self-check", json=described, headers=h["nist"]).json()["organization"]["registered"] is False
    bad = client.post("/v1/self-check", json={**body, "users": [{"location": "USA"}]}, headers=h["stripe"])
    assert bad.status_code == 422 and bad.json()["detail"]["problems"][0].startswith("users[0].location:")


def test_application_lifecycle_over_http(api):
    client, h, world = api
    assert client.post("/v1/applications", json=LUNA_APP, headers=h["nist"]).status_code == 403
    made = client.post("/v1/applications", json=LUNA_APP, headers=h["stripe"])
    assert made.status_code == 201, made.text
    app_id = made.json()["id"]
    assert made.json()["assessment"]["recommendation"] == "approve"
    assert client.get(f"/v1/applications/{app_id}", headers=h["nist"]).status_code == 404
    assert [a["id"] for a in client.get("/v1/applications", headers=h["nist"]).json()] == []
    assert [a["id"] for a in client.get("/v1/applications", headers=h["stripe"]).json()] == [app_id]
    assert client.post(f"/v1/applications/{app_id}/approve", headers=h["stripe"]).status_code == 403
    assert client.post(f"/v1/applications/{app_id}/fly", headers=h["admin"]).status_code == 404
    assert client.post(f"/v1/applications/{app_id}/appeal", headers=h["stripe"]).status_code == 409
    assert client.post(f"/v1/applications/{app_id}/assign", json={"reviewer": "rev-1"}, headers=h["admin"]).json()["reviewer"] == "rev-1"
    denied = client.post("/v1/decisions", json=LUNA, headers=h["admin"]).json()
    assert denied["code"] == "license-required"
    approved = client.post(f"/v1/applications/{app_id}/approve", json={"conditions": [{"code": "monitoring"}]}, headers=h["admin"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["licence"] == f"LIC-{app_id}"
    assert client.post("/v1/decisions", json=LUNA, headers=h["admin"]).json()["authorization"] == f"LIC-{app_id}"
    history = client.get(f"/v1/applications/{app_id}/history", headers=h["stripe"]).json()
    assert [v["record"]["state"] for v in history] == ["submitted", "submitted", "approved"]
    assert client.get("/v1/applications/due", headers=h["stripe"]).status_code == 403
    assert client.get("/v1/applications/due", headers=h["auditor"]).json()["overdue"] == []
    report = client.get("/v1/applications/consistency", headers=h["auditor"]).json()
    assert report["decided"] == 1 and report["differ_from_assessment"] == []
