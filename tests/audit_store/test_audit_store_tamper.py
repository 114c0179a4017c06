"""Editing, deleting or reordering stored rows behind the store's back is caught by verification."""

from __future__ import annotations

import pytest
from audit_store_kit import close, decision_body, open_store
from sqlalchemy import text

from clearance.audit.heads import sign_head
from clearance.audit.keys import KeyRing
from clearance.audit.merkle import root
from clearance.audit.verify import verify_log

N = 20


@pytest.fixture
def signed(audit_sql_url, tmp_path):
    store = open_store(audit_sql_url, migrated=True)
    ring = KeyRing.create(tmp_path / "keys")
    store.append_batch([(1000 + i, "decision", decision_body(i)) for i in range(N)])
    for size in (5, 10, 15, N):
        store.put_head(sign_head(ring.active(), size, root(store.leaf_hashes(0, size)), 5000 + size))
    yield store, ring
    close(store)


def check(store, ring):
    size = store.size()
    return verify_log(store.raw(0, size), store.heads(), ring.public_keys())


def test_the_untouched_log_verifies(signed):
    report = check(*signed)
    assert report.ok and report.covered == N


def test_an_edited_record_is_located(signed):
    store, ring = signed
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET data = replace(data, 'permit', 'deny') WHERE seq = 7"))
    report = check(store, ring)
    assert not report.ok and report.code == "root-mismatch" and report.bad_range == (5, 10)
    size = store.size()
    exact = verify_log(store.raw(0, size), store.heads(), ring.public_keys(), leaf_hashes=store.leaf_hashes(0, size))
    assert not exact.ok and exact.first_bad_index == 7  # the stored leaf column pins it exactly


def test_a_deleted_record_is_located(signed):
    store, ring = signed
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE seq = 12"))
    report = check(store, ring)
    assert not report.ok and report.first_bad_index == 12


def test_a_cut_off_tail_is_reported_as_truncation(signed):
    store, ring = signed
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE seq >= 17"))
    report = check(store, ring)
    assert not report.ok and report.code == "truncated" and report.first_bad_index == 17
