"""Two writer processes, each with its own GroupCommitLog, share one log: seqs stay contiguous."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from audit_store_kit import body_is_whole, close, open_store, stream_body

from clearance.audit.merkle import root
from clearance.audit.record import leaf_hash

WORKER = Path(__file__).with_name("audit_store_worker.py")
COUNT, THREADS = 300, 6


def test_two_processes_append_contiguously(audit_sql_url):
    start = time.time() + 2
    procs = [subprocess.Popen([sys.executable, str(WORKER), "append", audit_sql_url, f"w{i}", str(COUNT),
                               str(THREADS), str(start)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0 and out.strip().endswith("done"), err[-2000:]

    store = open_store(audit_sql_url, migrated=True)
    try:
        size = store.size()
        records = store.records(0, size)
        raw = store.raw(0, size)
        stored_leaves = store.leaf_hashes(0, size)
    finally:
        close(store)
    assert size == 2 * COUNT
    assert [r.seq for r in records] == list(range(size))
    assert all(body_is_whole(r.body) for r in records)
    assert sorted((r.body["worker"], r.body["n"]) for r in records) == sorted(
        (f"w{i}", n) for i in range(2) for n in range(COUNT))
    assert stream_body("w0", 0) in [r.body for r in records]
    leaves = [leaf_hash(data) for data in raw]
    assert stored_leaves == leaves
    assert root(stored_leaves) == root(leaves)
