"""The evaluation store on SQLite and PostgreSQL: a run, its items written once, what a resume needs."""

from __future__ import annotations

import pytest

from clearance.evals.runs import open_store
from clearance.ports import StoreUnavailable
from clearance.store.sql import normalize_url


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    url = normalize_url(tmp_path / "evals.db") if request.param == "sqlite" else request.getfixturevalue("pg_schema_url")
    opened = open_store(url)
    yield opened
    opened.close()


def _item(i: int) -> dict:
    return {"idx": i, "key": f"s:{i}", "category": "c", "template": None, "prompt": f"p{i}", "response": "r",
            "label": "full-refusal", "score": 0.9, "latency_ms": 1.5, "attempts": 1, "status": "done", "error": None,
            "at_ns": 10 + i}


def test_items_are_stored_once_and_a_resume_sees_them(store):
    store.create_run({"id": "ev-1", "suite": "s", "suite_hash": "a" * 64, "items_hash": "b" * 64, "target": "t",
                      "model": "m", "judge": "j", "status": "running", "total": 3, "created_at": 1, "updated_at": 1,
                      "config": {"limit": None}, "counters": {}, "error": None})
    store.add_items("ev-1", [_item(0), _item(2)], {"sent": 2}, at_ns=5)
    assert store.stored_indexes("ev-1") == {0, 2}
    run = store.get_run("ev-1")
    assert run["stored"] == 2 and run["counters"] == {"sent": 2} and run["updated_at"] == 5
    with pytest.raises(StoreUnavailable):
        store.add_items("ev-1", [_item(1), _item(2)])  # index 2 again: the whole batch is refused
    assert store.stored_indexes("ev-1") == {0, 2}
    store.add_items("ev-1", [_item(1)])
    assert [i["idx"] for i in store.items("ev-1")] == [0, 1, 2]
    store.update_run("ev-1", status="finished")
    assert [(r["id"], r["status"], r["stored"]) for r in store.list_runs()] == [("ev-1", "finished", 3)]
    assert store.get_run("ev-nope") is None
