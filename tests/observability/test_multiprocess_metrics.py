"""Multiprocess metrics: a dead worker's live gauges leave the scrape; its counters stay."""

from __future__ import annotations

import os
import subprocess
import sys

WORKER = """
from clearance.observability import metrics
metrics.REGISTRY_SEQ.set(41)
metrics.AUDIT_QUEUE.set(3)
metrics.decided("permit", "authorized")
"""

SCRAPE = """
import os
from clearance.observability import metrics
metrics.REGISTRY_SEQ.set(42)
print(metrics.exposition()[0].decode())
"""


def test_a_dead_workers_gauges_are_forgotten_and_its_counts_kept(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", WORKER], env=env, check=True, timeout=60)
    assert any(p.name.startswith("gauge_liveall_") for p in tmp_path.iterdir())
    out = subprocess.run([sys.executable, "-c", SCRAPE], env=env, check=True, timeout=60, capture_output=True,
                         text=True).stdout
    seq = [line for line in out.splitlines() if line.startswith("clearance_registry_seq{")]
    assert len(seq) == 1 and seq[0].endswith(" 42.0"), seq  # only the live process's version
    assert "clearance_audit_queue_depth 0.0" in out  # the dead worker's 3 queued records are not summed
    assert 'clearance_decisions_total{code="authorized",outcome="permit"} 1.0' in out
