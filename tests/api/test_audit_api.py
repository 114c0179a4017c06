"""The remote audit interface: what gets recorded, who may read it, and that it proves itself."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient

from clearance.api.app import create_app
from clearance.audit.heads import SignedTreeHead, verify_head
from clearance.audit.keys import load_public_keys
from clearance.audit.merkle import verify_consistency, verify_inclusion
from clearance.audit.record import leaf_hash
from clearance.audit.verify import read_jsonl, verify_log
from clearance.core.instant import parse_instant
from clearance.settings import Settings
from clearance.store.clock import FixedClock
from clearance.wiring import build_app

NOW = "2026-07-20T08:00:00-04:00"
STRIPE = {"model": "mythos-5", "entity": "stripe", "use_case": "software-engineering",
          "person": {"id": "p-1", "citizenships": ["US"], "location": "US"}}
HUAWEI = {"model": "mythos-5", "entity": "huawei", "use_case": "software-engineering",
          "person": {"id": "p-2", "citizenships": ["CN"], "location": "CN"}}


@pytest.fixture
def env(any_store_url, tmp_path):
    clock = FixedClock(int(parse_instant(NOW)))
    built = build_app(Settings(database_url=any_store_url, audit_keys=str(tmp_path / "keys")), clock)
    service = built.service
    scopes = {"admin": ["admin"], "auditor": ["auditor"], "stripe-auditor": ["auditor:stripe"],
              "stripe": ["entity:stripe"], "gateway": ["gateway"]}
    tokens = {name: service.create_credential(s, reason="test").token for name, s in scopes.items()}
    client = TestClient(create_app(built))
    yield client, tokens, built, tmp_path
    built.close()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def decide(client, tokens, request):
    response = client.post("/v1/decisions", json=request, headers=auth(tokens["gateway"]))
    assert response.status_code == 200, response.text
    return response.json()


def test_every_decision_and_admin_change_is_in_the_log(env):
    client, tokens, built, _ = env
    permit = decide(client, tokens, STRIPE)
    deny = decide(client, tokens, HUAWEI)
    assert permit["outcome"] == "permit" and deny["outcome"] == "deny"
    found = client.get("/v1/audit/records", params={"kind": "decision"}, headers=auth(tokens["auditor"])).json()
    bodies = [r["body"] for r in found["records"]]
    assert [r["seq"] for r in found["records"]] == [permit.pop("decision_id"), deny.pop("decision_id")]
    assert [b["decision"] for b in bodies] == [permit, deny]
    assert bodies[0]["request"]["at"] == permit["at"]  # filled in, so the request replays exactly
    changes = client.get("/v1/audit/records", params={"kind": "admin-change"}, headers=auth(tokens["auditor"])).json()
    kinds = [r["body"]["change"]["kind"] for r in changes["records"]]
    assert kinds == ["credential"] * 5
    assert all("body" not in r["body"] and r["body"]["reason"] == "test" for r in changes["records"])


def test_filters_narrow_the_records(env):
    client, tokens, _, _ = env
    decide(client, tokens, STRIPE)
    decide(client, tokens, HUAWEI)
    decide(client, tokens, STRIPE)
    get = lambda **params: client.get("/v1/audit/records", params=params, headers=auth(tokens["auditor"])).json()["records"]  # noqa: E731
    assert len(get(entity="stripe")) == 2
    assert [r["body"]["request"]["entity"] for r in get(outcome="deny")] == ["huawei"]
    assert get(code=get(entity="huawei")[0]["body"]["decision"]["code"], kind="decision")[0]["body"]["request"]["entity"] == "huawei"
    assert len(get(person="p-1")) == 2 and get(model="no-such-model") == []
    assert len(get(since="2026-07-20T12:00:00Z", until="2026-07-20T12:00:00Z", kind="decision")) == 3
    assert get(until="2026-07-20T11:59:59Z") == []
    page = client.get("/v1/audit/records", params={"kind": "decision", "limit": 2}, headers=auth(tokens["auditor"])).json()
    rest = get(kind="decision", after_seq=page["next_after_seq"])
    assert len(page["records"]) == 2 and len(rest) == 1 and rest[0]["seq"] > page["records"][-1]["seq"]


def test_tokens_without_an_auditor_scope_are_refused(env):
    client, tokens, _, _ = env
    assert client.get("/v1/audit/records").status_code == 401
    assert client.get("/v1/audit/records", headers=auth("clr_nokey_nosecret")).status_code == 401
    for name in ("stripe", "gateway"):
        assert client.get("/v1/audit/records", headers=auth(tokens[name])).status_code == 403
        assert client.get("/v1/audit/export.jsonl", headers=auth(tokens[name])).status_code == 403
        assert client.get("/v1/audit/heads/latest", headers=auth(tokens[name])).status_code == 403


def test_an_entity_scoped_auditor_sees_only_that_entity(env):
    client, tokens, built, _ = env
    decide(client, tokens, STRIPE)
    decide(client, tokens, HUAWEI)
    scoped = auth(tokens["stripe-auditor"])
    seen = client.get("/v1/audit/records", headers=scoped).json()["records"]
    assert seen and {r["body"]["request"]["entity"] for r in seen} == {"stripe"}
    assert client.get("/v1/audit/records", params={"entity": "huawei"}, headers=scoped).json()["records"] == []
    exported = client.get("/v1/audit/export.jsonl", headers=scoped).text.splitlines()
    assert len(exported) == len(seen)
    huawei = built.audit.store.query(entity="huawei")[0].seq
    built.audit.sign_if_grown()  # the writer's schedule; a GET never signs
    assert client.get("/v1/audit/proofs/inclusion", params={"seq": huawei}, headers=scoped).status_code == 404
    assert client.get("/v1/audit/proofs/inclusion", params={"seq": seen[0]["seq"]}, headers=scoped).status_code == 200


def test_the_interface_is_read_only(env):
    client, tokens, built, _ = env
    decide(client, tokens, STRIPE)
    paths = client.get("/openapi.json").json()["paths"]
    audit_paths = {path: set(ops) for path, ops in paths.items() if path.startswith("/v1/audit")}
    assert len(audit_paths) >= 8 and all(ops == {"get"} for ops in audit_paths.values())
    before = built.audit.store.size()
    for method in ("post", "put", "delete", "patch"):
        response = client.request(method.upper(), "/v1/audit/records", headers=auth(tokens["admin"]))
        assert response.status_code in {404, 405, 422}  # no route writes here; a lookalike path is refused
    assert built.audit.store.size() == before


def test_every_audit_get_route_leaves_the_database_unchanged(env):
    client, tokens, built, _ = env
    headers = auth(tokens["auditor"])
    decide(client, tokens, STRIPE)
    built.audit.sign_if_grown()
    decide(client, tokens, HUAWEI)  # the log has grown past the newest head: a GET must not sign another
    first = built.audit.store.latest_head().size
    size, heads = built.audit.store.size(), [h.to_dict() for h in built.audit.store.heads()]
    routes = [("/v1/audit/records", {}), ("/v1/audit/export.jsonl", {}), ("/v1/audit/export.csv", {}),
              ("/v1/audit/heads", {}), ("/v1/audit/heads/latest", {}), ("/v1/audit/keys", {}),
              ("/v1/audit/checkpoint", {}), ("/v1/audit/checkpoint/keys", {}),
              ("/v1/audit/proofs/inclusion", {"seq": 0}), ("/v1/audit/proofs/consistency", {"first": first}),
              ("/v1/audit/reports/stripe/2026Q3", {}), ("/v1/audit/reports/stripe/2026Q3", {"format": "html"})]
    paths = {p for p in client.get("/openapi.json").json()["paths"] if p.startswith("/v1/audit")}
    assert {p.replace("{entity}/{quarter}", "stripe/2026Q3") for p in paths} <= {r for r, _ in routes}
    for path, params in routes:
        assert client.get(path, params=params, headers=headers).status_code == 200, path
    assert built.audit.store.size() == size
    assert [h.to_dict() for h in built.audit.store.heads()] == heads


def test_proofs_verify_against_signed_heads_and_published_keys(env):
    client, tokens, built, tmp_path = env
    headers = auth(tokens["auditor"])
    decide(client, tokens, STRIPE)
    built.audit.sign_if_grown()
    first = SignedTreeHead.from_dict(client.get("/v1/audit/heads/latest", headers=headers).json())
    for _ in range(5):
        decide(client, tokens, HUAWEI)
    built.audit.sign_if_grown()
    keys = {kid: pem for kid, pem in client.get("/v1/audit/keys", headers=headers).json().items()}
    public = tmp_path / "published"
    public.mkdir()
    for kid, pem in keys.items():
        (public / f"{kid}.pem").write_text(pem)
    published = load_public_keys(public)
    proof = client.get("/v1/audit/proofs/inclusion", params={"seq": 3}, headers=headers).json()
    head = SignedTreeHead.from_dict(proof["signed_head"])
    verify_head(head, published)
    record = built.audit.store.raw(3, 4)[0]
    assert bytes.fromhex(proof["leaf_hash"]) == leaf_hash(record)
    path = [bytes.fromhex(p) for p in proof["audit_path"]]
    assert verify_inclusion(leaf_hash(record), 3, head.size, path, head.root)
    assert not verify_inclusion(leaf_hash(record + b" "), 3, head.size, path, head.root)
    consistency = client.get("/v1/audit/proofs/consistency", params={"first": first.size}, headers=headers).json()
    second = SignedTreeHead.from_dict(consistency["second"])
    steps = [bytes.fromhex(p) for p in consistency["proof"]]
    assert second.size > first.size
    assert verify_consistency(first.size, second.size, first.root, second.root, steps)


def test_an_export_verifies_offline_with_the_published_keys(env):
    client, tokens, built, tmp_path = env
    headers = auth(tokens["auditor"])
    for request in (STRIPE, HUAWEI, STRIPE):
        decide(client, tokens, request)
    built.audit.sign_if_grown()
    lines = list(read_jsonl(client.get("/v1/audit/export.jsonl", headers=headers).content.splitlines()))
    heads = [SignedTreeHead.from_dict(h) for h in client.get("/v1/audit/heads", headers=headers).json()]
    public = tmp_path / "published"
    public.mkdir()
    for kid, pem in client.get("/v1/audit/keys", headers=headers).json().items():
        (public / f"{kid}.pem").write_text(pem)
    assert verify_log(lines, heads, load_public_keys(public)).ok
    target = next(i for i, line in enumerate(lines) if b'"outcome":"permit"' in line)
    altered = [*lines[:target], lines[target].replace(b'"outcome":"permit"', b'"outcome":"deny"'), *lines[target + 1:]]
    report = verify_log(altered, heads, load_public_keys(public))
    assert not report.ok and report.bad_range[0] <= target < report.bad_range[1]
    rows = list(csv.reader(io.StringIO(client.get("/v1/audit/export.csv", params={"kind": "decision"}, headers=headers).text)))
    assert rows[0][:3] == ["seq", "at", "kind"] and [r[3] for r in rows[1:]] == ["stripe", "huawei", "stripe"]
    assert json.loads(lines[-1])["kind"] == "decision"


def test_the_latest_head_is_served_as_a_c2sp_checkpoint_that_verifies_with_the_published_verifier_keys(env):
    from clearance.audit.checkpoint import parse_verifier_key, verify_checkpoint

    client, tokens, built, _ = env
    headers = auth(tokens["auditor"])
    decide(client, tokens, STRIPE)
    built.audit.sign_if_grown()
    published = client.get("/v1/audit/checkpoint/keys", headers=headers).json()
    note = client.get("/v1/audit/checkpoint", headers=headers)
    assert note.headers["content-type"].startswith("text/plain")
    checkpoint = verify_checkpoint(note.text, [parse_verifier_key(k) for k in published["verifier_keys"]],
                                   origin=published["origin"])
    head = client.get("/v1/audit/heads/latest", headers=headers).json()
    assert (checkpoint.size, checkpoint.root.hex()) == (head["size"], head["root"])
    assert client.get("/v1/audit/checkpoint", headers=headers).text == note.text  # deterministic: a read, not a write
    for name in ("stripe", "gateway"):
        assert client.get("/v1/audit/checkpoint", headers=auth(tokens[name])).status_code == 403
