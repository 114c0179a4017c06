"""Out-of-range and unstorable query and path values: 422 naming the parameter, never 500 or a false 503 (issue 13)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from clearance.api.app import create_app
from clearance.ports import StoreUnavailable
from clearance.settings import Settings
from clearance.store.sql import normalize_url
from clearance.wiring import build_app

BIG = str(2**63)


@pytest.fixture(params=["sqlite", "postgres"])
def api(request, tmp_path):
    url = normalize_url(tmp_path / "r.db") if request.param == "sqlite" else request.getfixturevalue("pg_schema_url")
    built = build_app(Settings(database_url=url, audit_keys=str(tmp_path / "keys")))
    token = built.service.create_credential(["admin"], reason="test").token
    with TestClient(create_app(built)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, built
    built.close()


@pytest.mark.parametrize(("path", "params", "named"), [
    ("/v1/audit/records", {"after_seq": BIG}, "after_seq"),
    ("/v1/audit/records", {"until": "9999-12-31T23:59:59Z"}, "until"),
    ("/v1/audit/records", {"since": "0001-01-01T00:00:00Z"}, "since"),
    ("/v1/audit/records", {"entity": "stripe\x00"}, "entity"),
    ("/v1/audit/records", {"model": "m\x01"}, "model"),
    ("/v1/audit/export.jsonl", {"after_seq": BIG}, "after_seq"),
    ("/v1/audit/export.csv", {"since": "0001-01-01T00:00:00Z"}, "since"),
    ("/v1/audit/proofs/inclusion", {"seq": BIG}, "seq"),
    ("/v1/audit/proofs/consistency", {"first": "0", "second": BIG}, "second"),
    ("/v1/screening/lists/diff", {"old": BIG, "new": "1"}, "old"),
    ("/v1/state", {"valid_at": "9999-12-31T23:59:59Z"}, "valid_at"),
    ("/v1/applications/due", {"within_days": "inf"}, "within_days"),
])
def test_a_query_value_the_store_cannot_hold_is_422_naming_it(api, path, params, named):
    client, _ = api
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert named in response.text


@pytest.mark.parametrize(("method", "path", "named"), [
    ("GET", "/v1/people/p%00x", "key"),
    ("GET", "/v1/entities/e%00x", "key"),
    ("GET", "/v1/history/entity/e%00x", "key"),
    ("PUT", "/v1/entities/e%00x", "key"),
    ("GET", "/v1/audit/reports/str%00pe/2026-Q3", "entity"),
])
def test_a_nul_in_a_path_value_is_422_naming_it(api, method, path, named):
    client, _ = api
    response = client.request(method, path, json={"record": {}, "reason": "x"} if method == "PUT" else None)
    assert response.status_code == 422, response.text
    assert f"path.{named}" in response.text and "U+0000" in response.text


def test_an_export_whose_store_fails_answers_503_rather_than_200_and_a_cut_stream(api, monkeypatch):
    client, built = api

    def down(**_):
        raise StoreUnavailable("audit database: gone")

    monkeypatch.setattr(built.audit.store, "query", down)
    for path in ("/v1/audit/export.jsonl", "/v1/audit/export.csv"):
        response = client.get(path)
        assert response.status_code == 503 and "gone" in response.text


def test_a_record_whose_id_is_not_its_key_is_refused_naming_both(api):
    client, built = api
    entity = {"name": "Foo Ltd", "country": "US", "kind": "company"}
    response = client.put("/v1/entities/foo", json={"record": {**entity, "id": "bar"}, "reason": "test"})
    assert response.status_code == 422, response.text
    assert "`bar`" in response.text and "`foo`" in response.text
    assert built.service.store.history("entity", "foo") == []
    assert client.put("/v1/entities/foo", json={"record": {**entity, "id": "foo"}, "reason": "t"}).status_code == 201


def test_a_suspension_from_past_the_storable_instants_is_422(api):
    client, _ = api
    record = {"authorization": "annex-a", "from": "9999-12-31T23:59:59Z", "reason": "x"}
    response = client.put("/v1/suspensions/S-1", json={"record": record, "reason": "test"})
    assert response.status_code == 422 and "from" in response.text, response.text
    record.update({"authorization": "trusted-foreign-research", "entity": "preferred-networks",
                   "from": "2030-01-01T00:00:00Z"})
    # The route is reachable at all (the generic `/{resource}/{key}` used to take it and answer 404).
    assert client.put("/v1/suspensions/S-1", json={"record": record, "reason": "test"}).status_code == 201


def test_a_report_of_an_unknown_entity_is_404_not_an_empty_report(api):
    client, _ = api
    response = client.get("/v1/audit/reports/no-such-entity/2026Q3")
    assert response.status_code == 404 and "no-such-entity" in response.text
