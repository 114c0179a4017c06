"""List snapshots in the store: the same answers in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from clearance.ports import ListSnapshotStore, StoreUnavailable
from clearance.store.clock import FixedClock
from clearance.store.screening_memory import MemoryListStore
from clearance.store.sql import make_engine, migrate
from clearance.store.sql.screening import SqlListStore


@pytest.fixture
def lists(any_store_url):
    clock = FixedClock(1_000)
    if any_store_url == "memory:":
        yield MemoryListStore(clock)
        return
    migrate(any_store_url)
    engine = make_engine(any_store_url)
    yield SqlListStore(engine, clock)
    engine.dispose()


def entries(*names: str) -> list[dict]:
    return [{"uid": f"EL:{n.lower()}", "list": "EL", "list_name": "Entity List", "name": n, "kind": "",
             "aliases": [], "countries": ["RU"], "addresses": [], "programs": "", "reference": ""} for n in names]


def test_snapshots_are_stored_whole_and_the_newest_of_each_source_is_live(lists):
    assert isinstance(lists, ListSnapshotStore)
    assert lists.live() == {} and lists.snapshots() == []
    first = lists.add_snapshot("csl", "a.jsonl", "2026-07-31", "ab" * 32, "cli:x", "initial", {"entries": 2}, entries("Beta", "Alpha"))
    sdn = lists.add_snapshot("sdn", "sdn.csv", "2024-05-03", "cd" * 32, "cli:x", "", {"entries": 1}, entries("Gamma"))
    second = lists.add_snapshot("csl", "b.jsonl", "2026-08-31", "ef" * 32, "cli:y", "monthly", {"entries": 1}, entries("Delta"))
    assert [s.id for s in lists.snapshots()] == [first.id, sdn.id, second.id]
    assert [s.id for s in lists.snapshots("csl")] == [first.id, second.id]
    assert {k: v.id for k, v in lists.live().items()} == {"csl": second.id, "sdn": sdn.id}
    assert lists.snapshot(first.id) == first
    assert first.counts == {"entries": 2} and first.imported_at == 1_000 and first.reason == "initial"
    assert [e["name"] for e in lists.entries(first.id)] == ["Alpha", "Beta"]  # uid order
    assert lists.entries(first.id)[0] == entries("Alpha")[0]
    assert lists.snapshot(999) is None
    with pytest.raises(KeyError):
        lists.entries(999)


def test_a_failed_snapshot_leaves_nothing_behind(lists):
    lists.add_snapshot("csl", "a", "", "ab" * 32, "x", "", {}, entries("Alpha"))
    with pytest.raises((ValueError, StoreUnavailable)):
        lists.add_snapshot("csl", "b", "", "cd" * 32, "x", "", {}, entries("Beta", "Beta"))
    assert len(lists.snapshots()) == 1 and lists.live()["csl"].label == "a"


def test_the_migration_creates_the_screening_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate(url)
    engine = make_engine(url)
    try:
        names = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"screening_snapshots", "screening_entries"} <= names
