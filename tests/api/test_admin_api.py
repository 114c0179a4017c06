"""The admin REST API in-process: scoped tokens, checked writes, history, live decisions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from clearance.api.app import create_app
from clearance.core.instant import parse_instant
from clearance.settings import Settings
from clearance.store.clock import FixedClock
from clearance.wiring import build_app

NOW = "2026-07-20T08:00:00-04:00"
LICENCE = {
    "kind": "individual-licence",
    "models": ["gpt-5.6-luna"],
    "valid": {"from": NOW},
    "covers": {"entities": ["stripe"]},
    "use_cases": {"use_cases": ["general"]},
    "obligations": [{"code": "monitoring"}],
}
LUNA = {"model": "gpt-5.6-luna", "entity": "stripe", "use_case": "general", "person": {"citizenships": ["US"], "location": "US"}}


@pytest.fixture
def env(any_store_url, tmp_path):
    clock = FixedClock(int(parse_instant(NOW)))
    app = build_app(Settings(database_url=any_store_url, audit_keys=str(tmp_path / "keys")), clock)
    registry = app.service
    tokens = {
        scope: registry.create_credential(scopes, reason="test").token
        for scope, scopes in {
            "admin": ["admin"],
            "auditor": ["auditor"],
            "stripe": ["entity:stripe"],
            "gateway": ["gateway"],
        }.items()
    }
    yield TestClient(create_app(app)), tokens, clock
    app.close()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_missing_wrong_and_underscoped_tokens_are_rejected(env):
    client, tokens, _ = env
    body = {"record": LICENCE, "reason": "approved"}
    assert client.put("/v1/licences/LIC-1", json=body).status_code == 401
    assert client.put("/v1/licences/LIC-1", json=body, headers=auth("clr_abc_wrong")).status_code == 401
    assert client.put("/v1/licences/LIC-1", json=body, headers=auth(tokens["admin"] + "x")).status_code == 401
    for reader in ("auditor", "stripe", "gateway"):
        assert client.put("/v1/licences/LIC-1", json=body, headers=auth(tokens[reader])).status_code == 403
    assert client.get("/v1/state", headers=auth(tokens["stripe"])).status_code == 403
    assert client.get("/v1/entities/contoso-bank", headers=auth(tokens["stripe"])).status_code == 403
    assert client.get("/v1/entities/stripe", headers=auth(tokens["stripe"])).status_code == 200
    listed = client.get("/v1/entities", headers=auth(tokens["stripe"])).json()
    assert [e["id"] for e in listed] == ["stripe"]


def test_an_issued_licence_permits_the_next_decision_without_a_restart(env):
    client, tokens, _ = env
    request = dict(LUNA, at="2026-07-21T00:00:00Z")
    before = client.post("/v1/decisions", json=request, headers=auth(tokens["gateway"])).json()
    assert before["code"] == "license-required"
    made = client.put("/v1/licences/LIC-1", json={"record": LICENCE, "reason": "approved"}, headers=auth(tokens["admin"]))
    assert made.status_code == 201, made.text
    assert made.json()["recorded_by"] and made.json()["reason"] == "approved"
    after = client.post("/v1/decisions", json=request, headers=auth(tokens["gateway"])).json()
    assert (after["code"], after["authorization"]) == ("authorized", "LIC-1")
    assert after["policy_version"] != before["policy_version"]


def test_invalid_writes_answer_4xx_and_store_nothing(env):
    client, tokens, _ = env
    admin = auth(tokens["admin"])
    bad_model = client.put("/v1/licences/LIC-2", json={"record": dict(LICENCE, models=["gpt-9"]), "reason": "x"}, headers=admin)
    assert bad_model.status_code == 404 and "gpt-9" in bad_model.text
    past = client.put("/v1/licences/LIC-2", json={"record": LICENCE, "effective": "2026-07-01T00:00:00Z", "reason": "x"}, headers=admin)
    assert past.status_code == 422 and "in the past" in past.text
    no_reason = client.put("/v1/licences/LIC-2", json={"record": LICENCE}, headers=admin)
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    assert client.get("/v1/history/authorization/LIC-2", headers=auth(tokens["auditor"])).json() == []


def test_history_and_state_answer_in_force_and_known_at(env):
    client, tokens, clock = env
    admin = auth(tokens["admin"])
    client.put("/v1/licences/LIC-1", json={"record": LICENCE, "reason": "approved"}, headers=admin)
    clock.advance(3600 * 10**9)
    revoked = dict(LICENCE, valid={"from": NOW, "until": "2026-07-25T00:00:00Z"})
    client.put("/v1/licences/LIC-1", json={"record": revoked, "reason": "revoked"}, headers=admin)
    history = client.get("/v1/history/authorization/LIC-1", headers=auth(tokens["auditor"])).json()
    assert [h["reason"] for h in history] == ["approved", "revoked"]
    early = client.get(
        "/v1/state", params={"kind": "authorization", "known_at": "2026-07-20T08:30:00-04:00"}, headers=auth(tokens["auditor"])
    ).json()
    assert [s["reason"] for s in early] == ["approved"]
    secrets_seen = client.get("/v1/state", params={"kind": "credential"}, headers=auth(tokens["auditor"])).text
    assert "secret_sha256" not in secrets_seen and tokens["admin"] not in secrets_seen


def test_revoked_credential_stops_working(env):
    client, tokens, _ = env
    admin = auth(tokens["admin"])
    made = client.post("/v1/credentials", json={"scopes": ["gateway"], "reason": "new key"}, headers=admin).json()
    assert client.post("/v1/decisions", json=dict(LUNA, at=NOW), headers=auth(made["token"])).status_code == 200
    client.post(f"/v1/credentials/{made['key']}/revoke", json={"reason": "leaked"}, headers=admin)
    assert client.post("/v1/decisions", json=dict(LUNA, at=NOW), headers=auth(made["token"])).status_code == 401


def test_openapi_is_served(env):
    client, _, _ = env
    spec = client.get("/openapi.json").json()
    assert "/v1/decisions" in spec["paths"] and "/v1/{resource}/{key}" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_a_change_scheduled_ahead_takes_effect_when_its_instant_comes(env):
    client, tokens, clock = env
    later = "2026-07-20T10:00:00-04:00"
    made = client.put(
        "/v1/licences/LIC-3", json={"record": dict(LICENCE, valid={"from": later}), "effective": later, "reason": "approved ahead"},
        headers=auth(tokens["admin"]),
    )
    assert made.status_code == 201, made.text
    ask = lambda: client.post("/v1/decisions", json=LUNA, headers=auth(tokens["gateway"])).json()["code"]  # noqa: E731
    assert ask() == "license-required", "the record is not in force before its effective instant"
    clock.advance(3 * 3600 * 10**9)
    assert ask() == "authorized", "the live snapshot rebuilds by itself once the instant has passed"


def test_people_are_readable_by_their_entity_only(env):
    client, tokens, _ = env
    person = {"entity": "stripe", "citizenships": ["IN"], "location": "US"}
    made = client.put("/v1/people/p-7", json={"record": person, "reason": "onboarding"}, headers=auth(tokens["admin"]))
    assert made.status_code == 201, made.text
    mine = client.get("/v1/people/p-7", headers=auth(tokens["stripe"]))
    assert mine.status_code == 200 and mine.json()["citizenships"] == ["IN"]
    client.put("/v1/people/p-8", json={"record": dict(person, entity="amazon"), "reason": "onboarding"}, headers=auth(tokens["admin"]))
    assert client.get("/v1/people/p-8", headers=auth(tokens["stripe"])).status_code == 404
    assert client.get("/v1/people/p-8", headers=auth(tokens["auditor"])).status_code == 200
