"""The AuditStore contract, run identically on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import random

import pytest
from audit_store_kit import decision_body

from clearance.audit.errors import RecordError
from clearance.audit.heads import sign_head
from clearance.audit.merkle import (
    ListLeaves,
    consistency_proof,
    inclusion_proof,
    root,
    verify_consistency,
    verify_inclusion,
)
from clearance.audit.record import AuditRecord, canonical_bytes, leaf_hash, parse_record
from clearance.ports import AuditStore
from clearance.store.audit_memory import SubtreeCache


def test_the_store_satisfies_the_protocol(audit_store):
    assert isinstance(audit_store, AuditStore)


def test_seqs_are_contiguous_from_zero_across_batches(audit_store):
    assert audit_store.size() == 0
    assert audit_store.append_batch([]) == []
    first = audit_store.append_batch([(10 + i, "decision", decision_body(i)) for i in range(3)])
    second = audit_store.append_batch([(20, "screening", {"entity": "stripe"})])
    third = audit_store.append_batch([(30 + i, "monitoring", {"i": i}) for i in range(5)])
    assert [r.seq for r in first + second + third] == list(range(9))
    assert audit_store.size() == 9
    assert [r.seq for r in audit_store.records(0, 9)] == list(range(9))


def test_records_round_trip_through_their_exact_canonical_bytes(audit_store):
    bodies = [
        decision_body(1),
        {"text": "naïve café 東京 \u2028 \u0000 \"quoted\"", "float": 0.1, "big": 2**70, "neg": -0.0, "exp": 1e21},
        {"nested": {"z": [1, {"b": None, "a": True}], "a": []}, "tuple": (1, 2)},
    ]
    appended = audit_store.append_batch([(1_780_000_000_000_000_000 + i, "decision", b) for i, b in enumerate(bodies)])
    raw = audit_store.raw(0, 3)
    for record, data in zip(appended, raw, strict=True):
        assert data == canonical_bytes(record)
        assert parse_record(data) == parse_record(canonical_bytes(record))
    stored = audit_store.records(0, 3)
    assert [canonical_bytes(r) for r in stored] == raw
    assert stored[0].body == bodies[0]
    assert stored[1].body["text"] == bodies[1]["text"]
    assert stored[2].body["tuple"] == [1, 2]


def test_leaf_hashes_are_rfc6962_hashes_of_the_stored_bytes(audit_store):
    records = audit_store.append_batch([(i, "decision", decision_body(i)) for i in range(7)])
    expected = [leaf_hash(canonical_bytes(r)) for r in records]
    assert audit_store.leaf_hashes(0, 7) == expected
    assert audit_store.leaf_hashes(2, 5) == expected[2:5]
    assert audit_store.leaf_hashes(5, 100) == expected[5:]
    assert audit_store.leaf_hashes(4, 4) == []
    assert audit_store.raw(6, 7) == [canonical_bytes(records[6])]


def test_a_body_without_canonical_form_writes_nothing(audit_store):
    audit_store.append_batch([(1, "decision", {"ok": 1})])
    with pytest.raises(RecordError):
        audit_store.append_batch([(2, "decision", {"ok": 2}), (3, "decision", {"bad": float("nan")})])
    with pytest.raises(RecordError):
        audit_store.append_batch([(2, "not-a-kind", {"ok": 2})])
    with pytest.raises(RecordError):
        audit_store.append_batch([(2, "decision", {1: "non-string key"})])
    assert audit_store.size() == 1
    assert audit_store.append_batch([(4, "decision", {"ok": 4})])[0].seq == 1


@pytest.fixture
def populated(audit_store):
    entries = []
    for i in range(40):
        entity = ("stripe", "openai", "acme-bio", "tsinghua")[i % 4]
        outcome = "deny" if i % 5 == 0 else "permit"
        entries.append((1000 + i * 10, "decision", decision_body(i, entity, outcome)))
    entries.append((2000, "screening", {"entity": "openai", "person": "p-9", "model": "model-1"}))
    entries.append((2010, "admin-change", {"entity": 42, "note": "not a string: not indexed"}))
    entries.append((2020, "guardrail", {"person": {"id": "p-7"}, "model": "x" * 201}))
    audit_store.append_batch(entries)
    return audit_store


def seqs(records):
    return [r.seq for r in records]


def test_query_filters_by_time_entity_person_model_outcome_code_and_kind(populated):
    store = populated
    assert seqs(store.query()) == list(range(43))
    assert seqs(store.query(since_ns=1100, until_ns=1150)) == list(range(10, 16))  # both ends inclusive
    assert seqs(store.query(entity="stripe")) == list(range(0, 40, 4))
    assert seqs(store.query(entity="stripe", since_ns=1200)) == list(range(20, 40, 4))
    assert seqs(store.query(person="p-3")) == list(range(3, 40, 5))
    assert seqs(store.query(person="p-9")) == [40]
    assert seqs(store.query(person="p-7")) == [42]
    assert seqs(store.query(model="model-1")) == list(range(1, 40, 2)) + [40]
    assert seqs(store.query(outcome="deny")) == list(range(0, 40, 5))
    assert seqs(store.query(code="license-required", entity="stripe")) == [0, 20]
    assert seqs(store.query(kinds=["screening", "guardrail"])) == [40, 42]
    assert seqs(store.query(kinds={"admin-change"})) == [41]
    assert store.query(entity="nobody") == []
    assert store.query(model="x" * 201) == []  # too long to index: not matched, never truncated


def test_query_scopes_to_a_set_of_entities_and_pages_by_seq(populated):
    store = populated
    scoped = store.query(entities={"stripe", "openai"})
    assert seqs(scoped) == [i for i in range(40) if i % 4 in (0, 1)] + [40]
    assert all((r.body.get("request") or r.body)["entity"] in {"stripe", "openai"} for r in scoped)
    assert store.query(entities=set()) == []
    assert store.query(entities={"stripe"}, entity="openai") == []
    assert seqs(store.query(after_seq=38)) == [39, 40, 41, 42]
    assert seqs(store.query(after_seq=-1, limit=2)) == [0, 1]
    page, seen = None, []
    for _ in range(20):  # bounded paging loop
        batch = store.query(entities={"acme-bio"}, after_seq=page, limit=3)
        seen += seqs(batch)
        if len(batch) < 3:
            break
        page = batch[-1].seq
    assert seen == list(range(2, 40, 4))
    assert store.query(limit=0) == []


def test_records_decode_from_the_stored_bytes(populated):
    records = populated.query(entity="stripe", limit=2)
    assert records == populated.records(0, 1) + populated.records(4, 5)
    assert all(isinstance(r, AuditRecord) for r in records)


def test_heads_are_stored_by_size_and_a_fork_is_refused(audit_store, tmp_path):
    from clearance.audit.keys import KeyRing

    ring = KeyRing.create(tmp_path / "keys")
    assert audit_store.heads() == [] and audit_store.latest_head() is None
    records = audit_store.append_batch([(i, "decision", {"i": i}) for i in range(5)])
    leaves = [leaf_hash(canonical_bytes(r)) for r in records]
    h3 = sign_head(ring.active(), 3, root(leaves[:3]), 100)
    h5 = sign_head(ring.active(), 5, root(leaves), 200)
    audit_store.put_head(h5)
    audit_store.put_head(h3)
    assert audit_store.heads() == [h3, h5]
    assert audit_store.latest_head() == h5
    audit_store.put_head(sign_head(ring.active(), 5, root(leaves), 300))  # same tree, re-signed: first kept
    assert audit_store.heads() == [h3, h5]
    with pytest.raises(ValueError, match="another root"):
        audit_store.put_head(sign_head(ring.active(), 5, root(leaves[:4]), 400))
    assert audit_store.heads() == [h3, h5]


def test_proofs_generated_from_the_store_verify(audit_store, monkeypatch):
    monkeypatch.setattr(SubtreeCache, "CHUNK", 8)  # exercise the cached interior nodes on a small tree
    records = []
    for start in range(0, 300, 100):
        records += audit_store.append_batch([(i, "monitoring", {"i": i}) for i in range(start, start + 100)])
    leaves = [leaf_hash(canonical_bytes(r)) for r in records]
    rng = random.Random(7)
    for _ in range(30):
        n = rng.randint(1, 300)
        index, m = rng.randrange(n), rng.randint(0, n)
        path = inclusion_proof(audit_store, index, n)
        assert path == inclusion_proof(ListLeaves(leaves), index, n)
        assert verify_inclusion(leaves[index], index, n, path, root(leaves[:n]))
        proof = consistency_proof(audit_store, m, n)
        assert verify_consistency(m, n, root(leaves[:m]), root(leaves[:n]), proof)
    assert audit_store.subtree_hash(0, 300) == root(leaves)
    with pytest.raises(IndexError):
        audit_store.subtree_hash(290, 301)
