"""Who may have a decision recorded under an entity: the scope matrix of ``POST /v1/decisions``."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from clearance.api.app import create_app
from clearance.core.instant import parse_instant
from clearance.settings import Settings
from clearance.store.clock import FixedClock
from clearance.wiring import build_app

STRIPE = {"model": "mythos-5", "entity": "stripe", "use_case": "software-engineering",
          "person": {"citizenships": ["US"], "location": "US"}}
CONTOSO = {**STRIPE, "entity": "contoso-bank", "model": "gpt-5.6-terra", "use_case": "general"}

# scopes -> (may decide for stripe, may decide for contoso-bank)
MATRIX = {
    "admin": (["admin"], True, True),
    "gateway": (["gateway"], True, True),
    "gateway bound to stripe": (["gateway", "entity:stripe"], True, False),
    "entity reader only": (["entity:stripe"], False, False),
    "auditor": (["auditor"], False, False),
    "entity auditor": (["auditor:contoso-bank"], False, False),
    "screening": (["screening"], False, False),
}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    clock = FixedClock(int(parse_instant("2026-07-20T12:00:00Z")))
    app = build_app(Settings(database_url="memory:", audit_keys=str(tmp_path_factory.mktemp("keys"))), clock)
    app.service.put("person", "p-stripe", {"entity": "stripe", "citizenships": ["US"], "location": "US"}, reason="t")
    tokens = {name: app.service.create_credential(scopes, reason="t").token for name, (scopes, _, _) in MATRIX.items()}
    tokens["stripe person key"] = app.service.create_credential(["gateway"], reason="t", person="p-stripe",
                                                                entity="stripe").token
    yield TestClient(create_app(app)), tokens, app
    app.close()


@pytest.mark.parametrize("name", [*MATRIX, "stripe person key"])
def test_only_gateway_credentials_record_decisions_and_bound_ones_only_for_their_entity(api, name):
    client, tokens, app = api
    allowed = MATRIX.get(name, (None, True, False))[1:]
    before = app.audit.store.size()
    for request, ok in zip((STRIPE, CONTOSO), allowed, strict=True):
        response = client.post("/v1/decisions", json=request, headers={"Authorization": f"Bearer {tokens[name]}"})
        assert response.status_code == (200 if ok else 403), (name, request["entity"], response.text)
        if ok:
            assert isinstance(response.json()["decision_id"], int)
    assert app.audit.store.size() == before + sum(allowed)  # a refused ask leaves no record


def test_a_credential_with_an_unknown_scope_is_refused_naming_the_valid_ones(api):
    client, tokens, _ = api
    response = client.post("/v1/credentials", json={"scopes": ["gateway", "superuser"], "reason": "t"},
                           headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert response.status_code == 422
    text = response.text
    assert "superuser" in text and all(s in text for s in ("admin", "auditor", "gateway", "entity:<entity id>"))
