"""Licensing resources: published criteria, self-checks, applications and their clocks.

Criteria are public (no token): they are what anyone may read before applying.
A self-check needs any token; checking a registered organization by id needs a
token that may read it. Applications are submitted and followed by ``admin`` or
by the applicant's ``entity:<id>`` token, which may also respond, appeal and
withdraw; every reviewer action needs ``admin``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from ..core.instant import InstantError, parse_instant
from ..licensing import consistency
from ..licensing.applications import TransitionRefused
from ..licensing.criteria import criteria
from ..licensing.record import InputError, Prospect, parse
from ..licensing.render import render
from ..licensing.selfcheck import self_check
from ..licensing.service import LicensingService, NotFound
from ..licensing.transitions import APPLICANT, BY_ACTION
from ..ports import ConflictError
from ..registry.service import Credential
from ..registry.view import record_out
from .auth import caller, require

router = APIRouter(prefix="/v1", tags=["licensing"])
ADMIN = require("admin")
AUDITOR = require("auditor")


def licensing(request: Request) -> LicensingService:
    return request.app.state.licensing


def _run(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except TransitionRefused as exc:
        raise HTTPException(exc.status, {"code": "transition-refused", "problems": exc.problems}) from None
    except NotFound as exc:
        raise HTTPException(404, {"code": "not-found", "problems": exc.problems}) from None
    except InputError as exc:
        raise HTTPException(422, {"code": "invalid-request", "problems": exc.problems}) from None
    except ConflictError as exc:
        raise HTTPException(409, {"code": "conflict", "problems": [str(exc)]}) from None


def _at(text: str | None, request: Request) -> int:
    if text is None:
        return request.app.state.live.clock.now_ns()
    try:
        return int(parse_instant(text))
    except InstantError as exc:
        raise HTTPException(422, {"code": "invalid-request", "problems": [f"at: {exc}"]}) from None


def _owner(who: Credential, entity: str) -> bool:
    return "admin" in who.record.scopes or f"entity:{entity}" in who.record.scopes


@router.get("/criteria", response_model=None)
def get_criteria(request: Request, format: str = "json", at: str | None = None) -> Any:
    """What a licence requires, generated from the policy in force. Public."""
    doc = criteria(request.app.state.live.current(), _at(at, request))
    if format == "json":
        return doc
    if format in ("markdown", "md"):
        return PlainTextResponse(render(doc, "markdown"), media_type="text/markdown")
    if format == "html":
        return HTMLResponse(render(doc, "html"))
    raise HTTPException(422, {"code": "invalid-request", "problems": [f"format: `{format}` is not one of json, markdown, html"]})


@router.post("/self-check")
def post_self_check(request: Request, document: Any = Body(...), who: Credential = Depends(caller)) -> dict[str, Any]:
    """Check an organization and a prospective use against the criteria, without applying."""
    prospect = _run(lambda: parse(Prospect, document))
    org = prospect.organization
    registered = org if isinstance(org, str) else org.id
    policy = request.app.state.live.current()
    if registered in policy.entities and not who.can_read_entity(registered):
        raise HTTPException(403, f"this token may not read entity `{registered}`")
    at = prospect.at if prospect.at is not None else _at(None, request)
    return _run(lambda: self_check(policy, prospect, at))


@router.post("/applications", status_code=201)
def submit(request: Request, document: Any = Body(...), who: Credential = Depends(caller)) -> dict[str, Any]:
    entity = document.get("entity") if isinstance(document, dict) else None
    if not isinstance(entity, str) or not _owner(who, entity):
        raise HTTPException(403, f"this token may not apply for entity `{entity}`")
    return _run(lambda: licensing(request).submit(document, who.key))


@router.get("/applications")
def list_applications(request: Request, state: str | None = None, who: Credential = Depends(caller)) -> list[dict[str, Any]]:
    found = licensing(request).all(state=state)
    return [
        {"id": k, "entity": b["entity"], "state": b["state"], "reviewer": b.get("reviewer"), "submitted": b["submitted"]}
        for k, b in found.items()
        if who.can_read_entity(b["entity"])
    ]


@router.get("/applications/due")
def due(request: Request, within_days: float | None = Query(None, ge=0, le=36500, allow_inf_nan=False), who: Credential = Depends(AUDITOR)) -> dict[str, Any]:
    """Reviewer deadlines overdue or due soon, and applicant windows that have closed."""
    return licensing(request).due(within_days)


@router.get("/applications/consistency")
def consistency_report(request: Request, who: Credential = Depends(AUDITOR)) -> dict[str, Any]:
    """Reviewer decisions that differ from the automatic assessment or from each other."""
    return consistency.report(licensing(request).all())


def _readable(svc: LicensingService, app_id: str, who: Credential) -> dict[str, Any]:
    body = _run(lambda: svc.get(app_id)).body
    if not who.can_read_entity(body["entity"]):
        # An applicant learns nothing of other entities' applications, not even that they exist.
        raise HTTPException(404, {"code": "not-found", "problems": [f"application `{app_id}` does not exist"]})
    return body


@router.get("/applications/{app_id}")
def get_application(app_id: str, request: Request, who: Credential = Depends(caller)) -> dict[str, Any]:
    svc = licensing(request)
    return svc.view(app_id, _readable(svc, app_id, who))


@router.get("/applications/{app_id}/history")
def application_history(app_id: str, request: Request, who: Credential = Depends(caller)) -> list[dict[str, Any]]:
    svc = licensing(request)
    _readable(svc, app_id, who)
    return [record_out(r) for r in svc.versions(app_id)]


@router.post("/applications/{app_id}/{action}")
def act(app_id: str, action: str, request: Request, params: dict[str, Any] | None = Body(None), who: Credential = Depends(caller)) -> dict[str, Any]:
    """One transition: ``assign``, ``start-review``, ``request-information``, ``intend-to-deny``, ``approve``,
    ``deny``, ``uphold``, ``reverse`` (admin); ``respond``, ``appeal``, ``withdraw`` (admin or the applicant)."""
    svc = licensing(request)
    body = _readable(svc, app_id, who)
    t = BY_ACTION.get(action)
    if t is None:
        raise HTTPException(404, {"code": "not-found", "problems": [f"action: `{action}` is not one of {', '.join(BY_ACTION)}"]})
    if "admin" not in who.record.scopes and not (t.party == APPLICANT and _owner(who, body["entity"])):
        raise HTTPException(403, f"this token may not `{action}` this application")
    party = None if "admin" in who.record.scopes else APPLICANT
    return _run(lambda: svc.act(app_id, action, who.key, params or {}, party=party))
