"""A writer SIGKILLed under load loses no acknowledged record, and the recovered log verifies.

The child appends through a GroupCommitLog from several threads and prints each seq only
after ``append`` returned (durable). The parent kills it without warning after about 300
acknowledgements, reopens the database, signs a head over what it finds (as the operator
would on restart) and checks that ``verify_log`` over the stored canonical bytes is clean.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from audit_store_kit import body_is_whole, close, open_store

from clearance.audit.heads import sign_head
from clearance.audit.keys import KeyRing
from clearance.audit.merkle import root
from clearance.audit.record import leaf_hash
from clearance.audit.verify import verify_log
from worker_acks import acks_then_kill

WORKER = Path(__file__).with_name("audit_store_worker.py")
ACKS = 300


def test_sigkill_under_load_keeps_every_acknowledged_record_and_the_log_verifies(audit_sql_url, tmp_path):
    acks, stderr = acks_then_kill([sys.executable, str(WORKER), "crash", audit_sql_url, "crash", "8"], ACKS)
    assert len(acks) >= ACKS, f"writer acknowledged only {len(acks)} records: {stderr[-2000:]}"
    assert len(set(acks)) == len(acks), "a seq was acknowledged twice"

    store = open_store(audit_sql_url, migrated=True)
    try:
        size = store.size()
        raw = store.raw(0, size)
        records = store.records(0, size)
        stored_leaves = store.leaf_hashes(0, size)
        ring = KeyRing.create(tmp_path / "keys")
        head = sign_head(ring.active(), size, root([leaf_hash(data) for data in raw]), time.time_ns())
        store.put_head(head)
        heads = store.heads()
    finally:
        close(store)
    assert max(acks) < size, f"acknowledged seq {max(acks)} is missing (size {size})"
    assert [r.seq for r in records] == list(range(size)), "seqs are not contiguous from 0"
    assert all(body_is_whole(r.body) for r in records), "a torn record survived"
    assert len({r.body["n"] for r in records}) == size, "a record was stored twice"
    assert stored_leaves == [leaf_hash(data) for data in raw]
    report = verify_log(raw, heads, ring.public_keys(), leaf_hashes=stored_leaves)
    assert report.ok, report.message
    assert report.records == size and report.covered == size
