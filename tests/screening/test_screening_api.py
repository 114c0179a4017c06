"""Screening over REST: one name, snapshots and diffs, findings cleared and confirmed by an admin."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from screening_kit import CSL_ROWS, EL, World, write_jsonl

from clearance.api.app import create_app
from clearance.screening.importers import read_csl
from clearance.wiring import compose

NORDWIND = {"source": EL, "source_code": "EL", "name": "Nordwind Avionika", "alt_names": [], "countries": ["RU"]}


@pytest.fixture
def api(world: World, tmp_path):
    app = create_app(compose(world.registry, world.live, world.audit))
    screening = app.state.screening
    screening.import_list(read_csl(write_jsonl(tmp_path / "a.jsonl", CSL_ROWS)), actor="test")
    tokens = {name: world.registry.create_credential(scopes, reason="test").token
              for name, scopes in {"admin": ["admin"], "auditor": ["auditor"], "screening": ["screening"],
                                   "gateway": ["gateway"]}.items()}
    return TestClient(app), tokens, screening


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_one_name_is_screened_with_its_explanation(api):
    client, tokens, _ = api
    answer = client.post("/v1/screening/screen", json={"name": "Kunlun Bank Limited", "countries": ["CN"]},
                         headers=auth(tokens["screening"]))
    assert answer.status_code == 200
    body = answer.json()
    assert body["outcome"] == "match"
    hit = body["hits"][0]
    assert hit["entry"]["uid"] == "OFAC:15268" and hit["entry"]["list"] == "CAP"
    assert hit["matched_name"] == "BANK OF KUNLUN CO LTD" and hit["matched_alias"] is False
    assert "country CN" in hit["agreed"] and hit["score"] == 1.0
    assert {"query": "kunlun", "list": "kunlun", "similarity": 1.0} in hit["tokens"]
    clean = client.post("/v1/screening/screen", json={"name": "Anthropic PBC"}, headers=auth(tokens["auditor"]))
    assert clean.json()["outcome"] == "no-match" and clean.json()["hits"] == []


def test_screening_needs_a_scoped_token(api):
    client, tokens, _ = api
    assert client.post("/v1/screening/screen", json={"name": "x"}).status_code == 401
    assert client.post("/v1/screening/screen", json={"name": "x"}, headers=auth(tokens["gateway"])).status_code == 403
    assert client.post("/v1/screening/screen", json={"name": ""}, headers=auth(tokens["admin"])).status_code == 422


def test_entities_registered_through_the_api_are_screened_and_reviewed_by_an_admin(api, world, tmp_path):
    client, tokens, screening = api
    put = client.put("/v1/entities/vk", headers=auth(tokens["admin"]),
                     json={"record": {"name": "Nordvind Avionika", "country": "CA", "kind": "company"}, "reason": "onboarding"})
    assert put.status_code == 201
    screening.import_list(read_csl(write_jsonl(tmp_path / "b.jsonl", [*CSL_ROWS, NORDWIND])), actor="test")
    listed = client.get("/v1/screening/findings", headers=auth(tokens["auditor"])).json()["findings"]
    assert [(f["subject"], f["status"]) for f in listed] == [("vk", "possible")]
    path = "/v1/screening/findings/vk/clear"
    assert client.post(path, json={"reason": "different country"}, headers=auth(tokens["auditor"])).status_code == 403
    assert client.post(path, json={}, headers=auth(tokens["admin"])).status_code == 422
    cleared = client.post(path, json={"reason": "Canadian firm, not the RU entry"}, headers=auth(tokens["admin"]))
    assert cleared.status_code == 200 and cleared.json()["record"]["status"] == "cleared"
    assert client.get("/v1/screening/findings", headers=auth(tokens["auditor"])).json()["findings"] == []
    again = client.post(path, json={"reason": "twice"}, headers=auth(tokens["admin"]))
    assert again.status_code == 404 and again.json()["error"]["code"] == "review-rejected"
    assert world.audited(entity="vk")[-1]["reason"] == "Canadian firm, not the RU entry"


def test_snapshots_and_their_diff(api, tmp_path):
    client, tokens, screening = api
    screening.import_list(read_csl(write_jsonl(tmp_path / "b.jsonl", [*CSL_ROWS[1:], NORDWIND])), actor="test")
    snapshots = client.get("/v1/screening/lists", headers=auth(tokens["auditor"])).json()["snapshots"]
    assert [(s["id"], s["live"], s["counts"]["entries"]) for s in snapshots] == [(1, False, 5), (2, True, 5)]
    diff = client.get("/v1/screening/lists/diff?old=1&new=2", headers=auth(tokens["auditor"])).json()
    assert [e["name"] for e in diff["added"]] == ["Nordwind Avionika"]
    assert [e["name"] for e in diff["removed"]] == ["Afghan-German Construction Company"]
    assert client.get("/v1/screening/lists/diff?old=1&new=9", headers=auth(tokens["auditor"])).status_code == 404


def test_screening_without_any_list_is_unavailable_not_clean(world):
    client = TestClient(create_app(compose(world.registry, world.live, world.audit)))
    token = world.registry.create_credential(["admin"], reason="t").token
    answer = client.post("/v1/screening/screen", json={"name": "Bank of Kunlun"}, headers=auth(token))
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "screening-unavailable"


def test_a_registration_that_screening_flags_says_so_in_its_answer(api):
    client, tokens, _ = api
    flagged = client.put("/v1/entities/kb", headers=auth(tokens["admin"]),
                         json={"record": {"name": "Bank of Kunlun Co., Ltd.", "country": "CN", "kind": "bank"},
                               "reason": "onboarding"})
    assert flagged.status_code == 201
    found = flagged.json()["screening"]
    assert found["flagged"] is True and found["status"] == "listed" and found["reference"] == "OFAC:15268"
    assert "BANK OF KUNLUN" in found["reason"] and "country CN agrees" in found["reason"]
    clean = client.put("/v1/entities/ac", headers=auth(tokens["admin"]),
                       json={"record": {"name": "Acme Robotics", "country": "US", "kind": "company"}, "reason": "x"})
    assert clean.status_code == 201 and clean.json()["screening"] == {"flagged": False, "subject": "ac"}


def test_a_person_is_screened_with_their_date_of_birth_and_identifiers(api):
    client, tokens, _ = api
    client.put("/v1/entities/ac", headers=auth(tokens["admin"]),
               json={"record": {"name": "Acme Robotics", "country": "US", "kind": "company"}, "reason": "x"})
    record = {"entity": "ac", "name": "Elena Moiseevna Tsunaeva", "citizenships": ["RU"], "date_of_birth": "1961",
              "identifiers": ["Passport: 1234567"]}
    put = client.put("/v1/people/et", headers=auth(tokens["admin"]), json={"record": record, "reason": "onboarding"})
    assert put.status_code == 201
    assert put.json()["screening"]["flagged"] is True and put.json()["screening"]["subject"] == "person:et"
    bad = client.put("/v1/people/x", headers=auth(tokens["admin"]),
                     json={"record": {**record, "date_of_birth": "5 May"}, "reason": "x"})
    assert bad.status_code == 422
    answer = client.post("/v1/screening/screen", headers=auth(tokens["screening"]),
                         json={"name": "Elena Tsunaeva", "dates_of_birth": ["1961"], "nationalities": ["RU"],
                               "ids": ["1234567"]})
    assert answer.status_code == 200 and answer.json()["outcome"] == "possible-match"
    assert "the query leaves out listed name(s) `moiseevna`" in answer.json()["hits"][0]["reasons"]


def test_a_listed_snapshot_says_when_it_was_imported_readably():
    from clearance.ports import ListSnapshotInfo
    from clearance.screening.service import snapshot_dict

    info = ListSnapshotInfo(1, "csl", "CSL", "2026-07-01", "0" * 64, 1_785_000_000 * 10**9, "t", "r", {"entries": 1})
    shown = snapshot_dict(info)
    assert shown["imported"] == "2026-07-25T17:20:00Z" and shown["imported_at"] == 1_785_000_000 * 10**9
