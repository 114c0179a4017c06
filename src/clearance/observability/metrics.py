"""Prometheus metrics of one process, or of all worker processes of one ``clearance serve``.

With several uvicorn workers each process keeps its own counters, so ``clearance serve``
points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before any worker starts:
prometheus-client then keeps every sample in a memory-mapped file per process and
:func:`exposition` merges them, so a scrape of any worker sees the sums of all. Gauges that
only mean something per process (the registry version a process decides with, its audit
queue) are exposed with a ``pid`` label in that mode (``multiprocess_mode="liveall"``).

The metric objects are module-level because prometheus-client's registry is; the label
children used on the hot path are resolved once per label set and cached, so recording a
decision costs a dictionary lookup and an increment (see ``bench/metrics.py``).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Latency buckets from 100 µs (a cached decision) to 30 s (a slow upstream).
FAST = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SLOW = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

DECISIONS = Counter("clearance_decisions_total", "Decisions recorded, by outcome and reason code",
                    ["outcome", "code"])
DECISION_SECONDS = Histogram("clearance_decision_seconds",
                             "From a call's arrival at the enforcer to its decision record being durable", buckets=FAST)
REQUEST_SECONDS = Histogram("clearance_request_seconds",
                            "Gateway calls end to end, arrival to completion (streams: to their last chunk)",
                            ["route"], buckets=SLOW)
UPSTREAM_SECONDS = Histogram("clearance_upstream_seconds", "Upstream model calls, request to response headers",
                             ["upstream"], buckets=SLOW)
UPSTREAM_ERRORS = Counter("clearance_upstream_errors_total", "Upstream calls that failed or answered 5xx",
                          ["upstream", "status"])
AUDIT_QUEUE = Gauge("clearance_audit_queue_depth", "Audit records waiting for the writer in this process",
                    multiprocess_mode="livesum")
AUDIT_COMMIT_SECONDS = Histogram("clearance_audit_commit_seconds", "One group commit of audit records",
                                 buckets=FAST)
AUDIT_RECORDS = Counter("clearance_audit_records_total", "Audit records made durable")
AUDIT_FAILURES = Counter("clearance_audit_commit_failures_total", "Group commits that failed (their callers got 503)")
CAP_RESERVATIONS = Counter("clearance_cap_reservations_total", "Usage-cap reservations granted")
CAP_REFUSALS = Counter("clearance_cap_refusals_total", "Permitted calls refused by an obligation's before-step",
                       ["code"])
SCREENING_FINDINGS = Counter("clearance_screening_findings_total", "Restricted-party findings written",
                             ["status"])
GUARDRAIL_ACTIONS = Counter("clearance_guardrail_actions_total",
                            "Prompts and answers the gateway's guards blocked or flagged", ["action", "label"])
REGISTRY_SEQ = Gauge("clearance_registry_seq", "The registry change number this process decides with",
                     multiprocess_mode="liveall")
EVENT_LAG = Histogram("clearance_event_lag_seconds", "From a change's publication to this process hearing of it",
                      buckets=SLOW)

_decisions: dict[tuple[str, str], Any] = {}
_refusals: dict[str, Any] = {}


def decided(outcome: str, code: str) -> None:
    """Count one recorded decision (the label child is cached: codes are a small closed set)."""
    child = _decisions.get((outcome, code))
    if child is None:
        child = _decisions[(outcome, code)] = DECISIONS.labels(outcome, code)
    child.inc()


def refused(code: str) -> None:
    child = _refusals.get(code)
    if child is None:
        child = _refusals[code] = CAP_REFUSALS.labels(code)
    child.inc()


def guardrail_acted(action: str, label: str) -> None:
    GUARDRAIL_ACTIONS.labels(action, label).inc()


def audit_committed(records: int, seconds: float, queued: int) -> None:
    """The audit writer's report after a batch: how many, how long, and what waits behind it."""
    AUDIT_RECORDS.inc(records)
    AUDIT_COMMIT_SECONDS.observe(seconds)
    AUDIT_QUEUE.set(queued)


def audit_failed(queued: int) -> None:
    AUDIT_FAILURES.inc()
    AUDIT_QUEUE.set(queued)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric (all workers' merged in multiprocess mode) and its content type."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        forget_dead_workers()
        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def worker_exited(pid: int) -> None:
    """Forget a dead worker's live gauges (multiprocess mode), so its queue depth is not summed forever."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.mark_process_dead(pid)


def forget_dead_workers() -> list[int]:
    """Drop the live gauges of worker processes that no longer exist (multiprocess mode).

    uvicorn replaces a worker that died (killed, crashed) with a new process; the dead one's
    queue depth and registry version would otherwise stay in every scrape. Its counters and
    histograms stay, as they should: what it did happened. Returns the pids forgotten.
    """
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return []
    from pathlib import Path

    gone = set()
    for path in Path(directory).glob("gauge_live*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            gone.add(int(pid))
    for pid in gone:
        worker_exited(pid)
    return sorted(gone)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
