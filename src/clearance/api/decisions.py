"""``POST /v1/decisions``: decide a contract request against the live snapshot, and record it.

When the app has an audit log, the decision is appended (durably) before it is answered:
no caller holds a decision the log lacks. A log that cannot be written answers 503.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from ..core.decide import decide_json
from ..registry.service import Credential
from ..services.audit_trail import decision_body
from .auth import caller

router = APIRouter(prefix="/v1", tags=["decisions"])


@router.post("/decisions")
def decide(
    request: Request,
    document: Any = Body(..., description="a request as in contracts/decision.md"),
    trace: bool = False,
    who: Credential = Depends(caller),
) -> dict[str, Any]:
    live = request.app.state.live
    policy = live.current()
    now = live.clock.now_ns()
    decision = decide_json(policy, document, now, trace)
    contract = decision.to_dict()
    audit = request.app.state.audit
    if audit is not None:
        audit.append("decision", decision_body(document, decision, "api", who.key, contract=contract), now)
    return decision.to_dict(trace) if trace else contract
