"""Values a database cannot hold never fail other callers' records (issue 13).

A NUL in a recorded id used to reach PostgreSQL's indexed text columns, which refuse it, and
the refusal failed the whole group-commit batch: other callers got 503 ``audit-unavailable``.
"""

from __future__ import annotations

import threading

import pytest
from audit_store_kit import decision_body
from sqlalchemy import text

from clearance.audit.errors import RecordError
from clearance.audit.group_commit import GroupCommitLog
from clearance.ports import StoreRejected
from clearance.store.audit_memory import MemoryAuditStore
from clearance.store.sql import make_engine
from clearance.store.sql.engine import unavailable


def _nul_body(n: int) -> dict:
    body = decision_body(n)
    body["request"] = {**body["request"], "model": "mythos-5\x00", "entity": "stripe\x00"}
    return body


def test_a_nul_in_an_indexed_field_is_recorded_with_its_batch_on_every_backend(audit_store):
    entries = [(n, "decision", _nul_body(n) if n == 2 else decision_body(n)) for n in range(5)]
    records = audit_store.append_batch(entries)
    assert [r.seq for r in records] == list(range(5))
    stored = audit_store.records(2, 3)[0]
    assert stored.body["request"]["model"] == "mythos-5\x00"  # the record keeps the value exactly
    assert b"\\u0000" in audit_store.raw(2, 3)[0]  # escaped in the canonical JSON
    # Only the index copy is left out: the record is not found under a NUL-free id by mistake.
    assert 2 not in [r.seq for r in audit_store.query(model="mythos-5")]
    assert 2 not in [r.seq for r in audit_store.query(entity="stripe")]


def test_group_commit_of_many_callers_with_a_nul_id_fails_none_of_them(audit_store):
    log = GroupCommitLog(audit_store, max_wait_s=0.02)
    futures = log.submit_many([("decision", _nul_body(n) if n % 7 == 0 else decision_body(n), n) for n in range(50)])
    assert [f.result(timeout=30).seq for f in futures] == list(range(50))
    log.close()


class RefusingStore(MemoryAuditStore):
    """Refuses, as a database would, any batch holding a body marked ``poison`` (nothing of it is written)."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0
        self.started = threading.Event()
        self.release = threading.Event()

    def append_batch(self, entries):
        self.attempts += 1
        if not self.started.is_set():
            self.started.set()
            self.release.wait(10)  # hold the first batch so the next one gathers every caller
        # Group commit may hand over entries the store has prepared already (they keep their body).
        bodies = [e.body if hasattr(e, "body") else e[2] for e in entries]
        if any(body.get("poison") for body in bodies):
            raise StoreRejected("audit database (postgresql): DataError: text fields cannot contain NUL")
        return super().append_batch(entries)


def test_a_batch_the_database_refuses_is_bisected_so_only_the_bad_callers_fail():
    store = RefusingStore()
    log = GroupCommitLog(store)
    first = log.submit("decision", {"n": -1}, 0)
    assert store.started.wait(10)
    futures = log.submit_many([("decision", {"n": n, "poison": n in (5, 40)}, n) for n in range(64)])
    store.release.set()
    assert first.result(timeout=10).seq == 0
    good = [f.result(timeout=10) for n, f in enumerate(futures) if n not in (5, 40)]
    for n in (5, 40):
        with pytest.raises(StoreRejected):
            futures[n].result(timeout=10)
    assert sorted(r.body["n"] for r in good) == [n for n in range(64) if n not in (5, 40)]
    assert store.size() == 63
    # Bisection, not one commit per entry: 1 + about 2 x log2(64) x (bad entries) attempts.
    assert store.attempts < 40
    log.close()


def test_a_driver_data_error_is_reported_as_store_rejected(pg_url):
    engine = make_engine(pg_url)
    try:
        with pytest.raises(StoreRejected, match="NUL"), unavailable(engine, "test"), engine.connect() as conn:
            conn.execute(text("SELECT CAST(:v AS text)"), {"v": "a\x00b"})
    finally:
        engine.dispose()


def test_an_instant_past_64_bits_fails_only_its_own_entry(audit_store):
    log = GroupCommitLog(audit_store, max_wait_s=0.02)
    futures = log.submit_many([("decision", decision_body(n), 2**63 if n == 3 else n) for n in range(8)])
    with pytest.raises(RecordError, match="at_ns"):
        futures[3].result(timeout=30)
    assert [f.result(timeout=30).seq for n, f in enumerate(futures) if n != 3] == list(range(7))
    log.close()
