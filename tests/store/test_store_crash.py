"""A writer killed with SIGKILL mid-stream leaves every acknowledged change and no torn one.

The writer appends change pairs, one transaction each, and prints a pair's seq only after
``append`` has returned (committed). The parent kills it without warning after about 200
acknowledgements, then reopens the database and checks what survived.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from store_testkit import body_is_whole, close, open_sql, stream_body

from clearance.store.sql import migrate
from worker_acks import acks_then_kill

WORKER = Path(__file__).with_name("store_worker.py")
ACKS = 200


def test_sigkill_mid_stream_keeps_every_acknowledged_change_and_no_torn_one(database):
    migrate(database)
    acks, stderr = acks_then_kill([sys.executable, str(WORKER), "stream", database, "100000"], ACKS)
    assert len(acks) >= ACKS, f"writer acknowledged only {len(acks)} changes: {stderr[-2000:]}"

    store = open_sql(database)
    try:
        rows = store.changes_since(0)
    finally:
        close(store)
    by_seq = {r.seq: r for r in rows}
    for n, seq in enumerate(acks, start=1):
        assert seq in by_seq, f"acknowledged seq {seq} is missing"
        assert by_seq[seq].body == stream_body(n)
        assert by_seq[seq].key == f"k{n}-a"

    assert all(body_is_whole(r.body) for r in rows), "a row with a torn body survived"
    halves: dict[int, set[str]] = defaultdict(set)
    for r in rows:
        halves[r.body["n"]].add(r.key)
    assert all(keys == {f"k{n}-a", f"k{n}-b"} for n, keys in halves.items()), "half a transaction survived"
    assert sorted(halves) == list(range(1, len(halves) + 1))
    assert len(halves) in (len(acks), len(acks) + 1)  # at most the one commit in flight when killed
    if database.startswith("sqlite"):
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
