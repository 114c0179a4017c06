"""Safety evaluations over REST: start a run (``admin``), read its status and metrics (``auditor``).

A run started here executes in the server's event loop; its items are stored as they are
answered, exactly as with ``clearance eval run``, so a server restart leaves it
``running``/``interrupted`` and ``clearance eval resume`` continues it. Only built-in
suites are accepted and prompts are read from the server's data directory
(``CLEARANCE_EVAL_DATA``): a request never names a file on the server. The target's key
is held in memory for the run and never stored.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from ..core.errors import ClearanceError
from ..evals.errors import EvalError
from ..evals.runs import Runs
from ..evals.suite import BUILT_IN
from ..registry.service import Credential
from .auth import require

router = APIRouter(prefix="/v1", tags=["evaluations"])
ADMIN = require("admin")
AUDITOR = require("auditor")
log = logging.getLogger(__name__)


class EvalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: str = Field(description=f"one of {', '.join(BUILT_IN)}")
    target: str = Field(pattern=r"^https?://", description="OpenAI-compatible base URL")
    model: str = Field(min_length=1)
    key: str | None = Field(None, description="the target's API key; used for this run only, never stored")
    limit: int | None = Field(None, ge=1)
    concurrency: int = Field(8, ge=1, le=256)
    judge: str | None = Field(None, pattern=r"^(trained|strmatch)$")


def _runs(request: Request) -> Runs:
    engine = getattr(request.app.state.registry.store, "engine", None)
    if engine is None:
        raise HTTPException(503, {"code": "store-unavailable", "problems": ["evaluations need a database (not memory:)"]})
    from ..store.sql.evals import SqlEvalStore

    return Runs(SqlEvalStore(engine), request.app.state.live.clock.now_ns)


@router.post("/evals", status_code=202)
async def start(body: EvalRequest, request: Request, _: Credential = Depends(ADMIN)) -> dict[str, Any]:
    if body.suite not in BUILT_IN:
        raise HTTPException(422, {"code": "invalid-request", "problems": [f"suite: one of {', '.join(BUILT_IN)}"]})
    runs = _runs(request)
    try:
        run_id = await asyncio.to_thread(runs.create, body.suite, body.target, body.model, limit=body.limit,
                                         judge=body.judge, concurrency=body.concurrency)
        plan = await asyncio.to_thread(runs.plan, run_id, body.key)
    except ClearanceError as exc:
        raise HTTPException(422, {"code": "invalid-request", "problems": str(exc).splitlines()}) from None
    tasks: set[asyncio.Task[Any]] = request.app.state.__dict__.setdefault("eval_tasks", set())
    task = asyncio.create_task(_execute(runs, plan))
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return {"id": run_id, "status": "running", "total": len(plan.items)}


async def _execute(runs: Runs, plan: Any) -> None:
    try:
        await runs.execute(plan)
    except EvalError as exc:
        log.warning("evaluation run %s stopped: %s", plan.run_id, exc)


@router.get("/evals")
def list_runs(request: Request, _: Credential = Depends(AUDITOR)) -> dict[str, Any]:
    return {"runs": _runs(request).list()}


@router.get("/evals/{run_id}", response_model=None)
def show(run_id: str, request: Request, format: str = "json", _: Credential = Depends(AUDITOR)) -> Any:
    """The run's status, counts and metrics with their intervals; ``format=html`` for the report page."""
    if format not in ("json", "html"):
        raise HTTPException(422, {"code": "invalid-request", "problems": ["format: one of json, html"]})
    try:
        report = _runs(request).report(run_id)
    except EvalError as exc:
        raise HTTPException(404, {"code": "not-found", "problems": [str(exc)]}) from None
    if format == "html":
        from ..evals.report import render_html

        return HTMLResponse(render_html(report))
    return report
