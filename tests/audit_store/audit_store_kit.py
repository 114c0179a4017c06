"""Helpers shared by the audit store tests and the writer processes they start (not a test module)."""

from __future__ import annotations

import hashlib

from clearance.audit.record import AuditRecord, canonical_bytes, leaf_hash
from clearance.ports import AuditStore
from clearance.store.audit_memory import MemoryAuditStore
from clearance.store.sql import make_engine, migrate
from clearance.store.sql.audit import SqlAuditStore

ENTITIES = ("stripe", "openai", "acme-bio", "tsinghua")


def open_store(url: str, *, migrated: bool = False) -> AuditStore:
    """``memory:`` or a SQL URL (migrated here unless ``migrated``)."""
    if url == "memory:":
        return MemoryAuditStore()
    if not migrated:
        migrate(url)
    return SqlAuditStore(make_engine(url))


def close(store: AuditStore) -> None:
    engine = getattr(store, "engine", None)
    if engine is not None:
        engine.dispose()


def decision_body(n: int, entity: str | None = None, outcome: str = "permit") -> dict:
    """A decision record body shaped like the gateway's: the contract request and decision."""
    entity = entity or ENTITIES[n % len(ENTITIES)]
    permit = outcome == "permit"
    return {
        "caller": f"token-{n % 3}",
        "decision_id": f"d-{n:08d}",
        "request": {
            "action": "inference", "at": "2026-06-28T10:00:00-04:00", "entity": entity, "model": f"model-{n % 2}",
            "person": {"citizenships": ["IN"], "id": f"p-{n % 5}", "location": "US", "permanent_residency": None},
            "use_case": "software-engineering",
        },
        "decision": {
            "outcome": outcome, "code": "authorized" if permit else "license-required",
            "authorization": "annex-a" if permit else None, "destinations": ["IN"], "tier": "S-4",
            "reasons": [{"code": "authorized", "rule": "annex-a", "message": "exempt for Annex A employees"}],
            "obligations": [{"code": "monitoring"}], "remedies": [], "score": 0.1 * n,
            "policy_version": "sha256:" + hashlib.sha256(b"policy").hexdigest(),
        },
    }


def stream_body(worker: str, n: int) -> dict:
    """A self-checking body for writer processes: a torn or mixed-up record shows."""
    pad = "x" * (50 + n % 200)
    return {"worker": worker, "n": n, "pad": pad, "check": hashlib.sha256(f"{worker}:{n}:{pad}".encode()).hexdigest()}


def body_is_whole(body: dict) -> bool:
    return isinstance(body, dict) and body == stream_body(body.get("worker"), body.get("n", -1))


def recomputed_leaves(raw: list[bytes]) -> list[bytes]:
    return [leaf_hash(data) for data in raw]


def canonical(record: AuditRecord) -> bytes:
    return canonical_bytes(record)
