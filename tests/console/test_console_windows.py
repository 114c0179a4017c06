"""The console's look-back reads: the newest records, and the records since an instant, found from the log's end."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.console.overview import latest, since
from clearance.store.audit_memory import MemoryAuditStore

KINDS = ("decision", "screening", "admin-change")


def log_of(kinds: list[str], gaps: list[int]) -> SimpleNamespace:
    store = MemoryAuditStore()
    at = 1_000
    entries = []
    for kind, gap in zip(kinds, gaps, strict=False):
        at += gap
        entries.append((at, kind, {"entity": "e", "n": len(entries)}))
    if entries:
        store.append_batch(entries)
    return SimpleNamespace(store=store)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(KINDS), max_size=3000), st.integers(1, 60), st.sampled_from(KINDS))
def test_latest_is_the_newest_matching_records_newest_first(kinds, want, kind):
    log = log_of(kinds, [1] * len(kinds))
    everything = log.store.query(kinds=[kind], limit=10**6)
    assert [r.seq for r in latest(log, want, kinds=[kind])] == [r.seq for r in reversed(everything[-want:])]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 50), max_size=3000), st.integers(0, 200_000))
def test_since_is_every_record_from_an_instant_on(gaps, back):
    log = log_of(["decision"] * len(gaps), gaps)
    end = 1_000 + sum(gaps)
    start = end - back
    expected = [r.seq for r in log.store.query(since_ns=start, limit=10**6)]
    assert [r.seq for r in since(log, start, 10**6)] == expected
