"""``POST /v1/decisions``: decide a contract request against the live snapshot."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from ..core.decide import decide_json
from ..registry.service import Credential
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
    return decide_json(policy, document, now, trace).to_dict(trace)
