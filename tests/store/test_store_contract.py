"""The RegistryStore contract beyond bitemporal queries: atomic appends, optimistic
concurrency, monotonic recording instants, feeds for followers, and failing closed."""

from __future__ import annotations

import pytest

from clearance.ports import Change, ConflictError, StoreUnavailable
from clearance.store.sql import SqlRegistry, make_engine, normalize_url


def put(key: str, body: dict, valid_from: int = 0, kind: str = "organization") -> Change:
    return Change(kind, key, "put", body, valid_from, "tester", "test")


def test_append_returns_the_stored_records_with_increasing_seqs(registry, clock):
    clock.set(1_000)
    records = registry.append([put("a", {"n": 1}), put("b", {"n": 2})])
    assert [r.key for r in records] == ["a", "b"]
    assert records[0].seq < records[1].seq
    assert {r.recorded_at for r in records} == {1_000}
    assert registry.latest_seq() == records[1].seq
    assert registry.history("organization", "a") == [records[0]]


def test_an_empty_store_is_empty(registry):
    assert registry.latest_seq() == 0
    assert registry.changes_since(0) == []
    assert registry.state(10**19 // 10) == {}


def test_a_stale_expectation_raises_a_conflict_and_writes_nothing(registry):
    first = registry.append([put("a", {"n": 1})], expect={("organization", "a"): None})[0]
    with pytest.raises(ConflictError, match="organization `a`") as caught:
        registry.append([put("b", {"n": 1}), put("a", {"n": 2})], expect={("organization", "a"): None})
    assert caught.value.key == ("organization", "a")
    assert caught.value.actual == first.seq
    with pytest.raises(ConflictError):
        registry.append([put("a", {"n": 2})], expect={("organization", "a"): first.seq + 100})
    assert registry.latest_seq() == first.seq
    assert registry.history("organization", "b") == []
    second = registry.append([put("a", {"n": 2})], expect={("organization", "a"): first.seq})[0]
    assert second.seq > first.seq


def test_recorded_at_never_goes_backwards_even_if_the_clock_does(registry, clock):
    clock.set(5_000)
    registry.append([put("a", {"n": 1})])
    clock.set(4_000)
    late = registry.append([put("a", {"n": 2})])[0]
    assert late.recorded_at == 5_000


def test_changes_since_feeds_followers_in_seq_order(registry):
    seqs = [registry.append([put(f"k{i}", {"i": i})])[0].seq for i in range(5)]
    assert [r.seq for r in registry.changes_since(0)] == seqs
    assert [r.seq for r in registry.changes_since(seqs[2])] == seqs[3:]
    assert registry.changes_since(seqs[-1]) == []


def test_bodies_round_trip_as_json_and_stored_history_cannot_be_mutated(registry):
    body = {"name": "Preferred Networks, Inc.", "tags": ["jp", "research"], "n": 3, "ok": True, "none": None,
            "nested": {"unicode": "日本", "big": 2**53}}
    stored = registry.append([put("pfn", body)])[0]
    assert stored.body == body
    stored.body["name"] = "changed"
    assert registry.history("organization", "pfn")[0].body == body


def test_a_body_that_is_not_json_is_refused_before_anything_is_written(registry):
    with pytest.raises(ValueError, match="body"):
        registry.append([put("a", {"n": 1}), put("b", {"when": object()})])
    assert registry.latest_seq() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("op", "delete"), ("kind", ""), ("kind", "k" * 33), ("key", ""), ("actor", ""), ("body", None), ("valid_from", 1.5)],
)
def test_malformed_changes_are_refused(field, value):
    fields = {"kind": "organization", "key": "a", "op": "put", "body": {}, "valid_from": 0, "actor": "t", "reason": ""}
    fields[field] = value
    with pytest.raises(ValueError, match=field):
        Change(**fields)


def test_a_retire_may_carry_no_body(registry):
    registry.append([put("a", {"n": 1})])
    retired = registry.append([Change("organization", "a", "retire", None, 10, "t", "closed")])[0]
    assert retired.body is None and retired.op == "retire"
    assert registry.state(5) and registry.state(10) == {}


def test_an_unreachable_server_fails_closed():
    store = SqlRegistry(make_engine("postgresql://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}))
    for call in (lambda: store.append([put("a", {})]), lambda: store.state(0), store.latest_seq):
        with pytest.raises(StoreUnavailable):
            call()
    store.engine.dispose()


def test_an_unmigrated_database_fails_closed(tmp_path):
    store = SqlRegistry(make_engine(normalize_url(tmp_path / "empty.db")))
    with pytest.raises(StoreUnavailable, match="sqlite"):
        store.history("organization", "a")
    store.engine.dispose()


def test_urls_and_paths_are_normalized(tmp_path):
    assert normalize_url(tmp_path / "r.db") == f"sqlite:///{tmp_path / 'r.db'}"
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    with pytest.raises(ValueError, match="not supported"):
        make_engine("mysql://u@h/db")
