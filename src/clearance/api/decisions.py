"""``POST /v1/decisions``: decide a contract request through the enforcer, and record it.

The decision is durable in the audit log before it is answered (no caller holds a decision
the log lacks; a log that cannot be written answers 503), and the answer carries its
``decision_id``. A recorded decision counts in its entity's quarterly report, so only
``gateway``-scoped credentials may ask, and one bound to an entity (an ``entity:X`` scope or
a key of X's person) only for that entity.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request

from ..enforcement import AuditUnavailable, Enforcer
from ..registry.service import Credential
from .auth import require

router = APIRouter(prefix="/v1", tags=["decisions"])
GATEWAY = require("gateway")


def may_decide_for(who: Credential, document: Any) -> None:
    """403 unless ``who`` may have a decision recorded under the document's entity."""
    scopes = who.record.scopes
    if "admin" in scopes:
        return
    bound = {s.removeprefix("entity:") for s in scopes if s.startswith("entity:")}
    if who.record.entity is not None:
        bound.add(who.record.entity)
    entity = document.get("entity") if isinstance(document, dict) else None
    if bound and entity not in bound:
        raise HTTPException(403, f"this token may only ask for decisions of {', '.join(sorted(bound))}")


@router.post("/decisions")
async def decide(
    request: Request,
    document: Any = Body(..., description="a request as in contracts/decision.md"),
    trace: bool = False,
    who: Credential = Depends(GATEWAY),
) -> dict[str, Any]:
    may_decide_for(who, document)
    enforcer: Enforcer | None = getattr(request.app.state, "enforcer", None)
    if enforcer is None:
        raise HTTPException(503, "decisions are not served without an audit log to record them")
    try:
        enforced, shown = await enforcer.enforce_document(document, who.key, enforcer.live.clock.now_ns(), "api", trace)
    except AuditUnavailable as exc:
        raise HTTPException(503, str(exc)) from None
    out = shown.to_dict(trace) if trace else enforced.contract
    return {**out, "decision_id": enforced.decision_id}
