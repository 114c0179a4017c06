"""Restricted-party screening over REST: screen one name, list snapshots, findings and their review.

``install`` wires screening into an app: the service shares the registry's
database and observes the registry's writes, so entities and people created
through the API are screened when they are registered.

Scopes: screening a name and reading snapshots or findings takes ``admin``,
``auditor`` or ``screening``; clearing or confirming a finding takes ``admin``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..registry.service import Credential
from ..registry.view import record_out
from ..screening.service import ReviewRejected, ScreeningService, ScreeningUnavailable, snapshot_dict
from .auth import caller, require
from .params import INT64_MAX

router = APIRouter(prefix="/v1/screening", tags=["screening"])
ADMIN = require("admin")


def install(app: FastAPI) -> None:
    """Serve the screening routes (``app.state.screening`` is the application's screening service)."""
    app.include_router(router)


def screening(request: Request) -> ScreeningService:
    return request.app.state.screening


def screener(who: Credential = Depends(caller)) -> Credential:
    if not (who.allows("auditor") or who.allows("screening")):
        raise HTTPException(403, "this token lacks the `screening` scope")
    return who


class ScreenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=1000)
    countries: list[str] = Field(default=[], max_length=20)
    kind: str | None = Field(None, pattern=r"^(entity|individual|person|vessel|aircraft)$")
    limit: int = Field(5, ge=1, le=50)
    # Evidence beside the name: each agreement or difference is shown in the hit's explanation.
    dates_of_birth: list[Annotated[str, Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")]] = Field([], max_length=10)
    nationalities: list[str] = Field([], max_length=10)
    ids: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field([], max_length=20)


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "problems": [message]}}, status_code=status)


@router.post("/screen", response_model=None)
def screen(body: ScreenRequest, svc: ScreeningService = Depends(screening), _: Credential = Depends(screener)) -> Any:
    """Screen one name: the outcome, and for each hit the entry, the name or alias matched, the score and why."""
    try:
        result = svc.screen(body.name, body.countries, body.kind, body.limit, dates_of_birth=body.dates_of_birth,
                            nationalities=body.nationalities, ids=body.ids)
    except ScreeningUnavailable as exc:
        return _error(503, "screening-unavailable", str(exc))
    if not result.tokens:
        return _error(422, "invalid-request", "name: has no letters or digits to screen")
    return result.to_dict()


@router.get("/lists")
def lists(svc: ScreeningService = Depends(screening), _: Credential = Depends(screener)) -> dict[str, Any]:
    live = {s.id for s in svc.lists.live().values()}
    return {"snapshots": [{**snapshot_dict(s), "live": s.id in live} for s in svc.lists.snapshots()]}


@router.get("/lists/diff", response_model=None)
def diff(old: int = Query(..., ge=0, le=INT64_MAX), new: int = Query(..., ge=0, le=INT64_MAX), svc: ScreeningService = Depends(screening), _: Credential = Depends(screener)) -> Any:
    try:
        return svc.diff(old, new).to_dict()
    except ScreeningUnavailable as exc:
        return _error(404, "no-such-snapshot", str(exc))


@router.get("/findings")
def findings(all: bool = False, svc: ScreeningService = Depends(screening), _: Credential = Depends(screener)) -> dict[str, Any]:  # noqa: A002 - the query parameter's name
    return {"findings": svc.findings(include_cleared=all)}


@router.post("/findings/{subject}/clear", response_model=None)
def clear(subject: str, body: ReviewRequest, svc: ScreeningService = Depends(screening), who: Credential = Depends(ADMIN)) -> Any:
    """A reviewer clears a finding (a false alarm); the reason goes to the registry history and the audit log."""
    return _review(svc, subject, "clear", who, body.reason)


@router.post("/findings/{subject}/confirm", response_model=None)
def confirm(subject: str, body: ReviewRequest, svc: ScreeningService = Depends(screening), who: Credential = Depends(ADMIN)) -> Any:
    """A reviewer confirms a possible match: the subject is denied as a restricted party."""
    return _review(svc, subject, "confirm", who, body.reason)


def _review(svc: ScreeningService, subject: str, action: str, who: Credential, reason: str) -> Any:
    try:
        return record_out(svc.review(subject, action, who.key, reason))
    except ReviewRejected as exc:
        return _error(exc.status, "review-rejected", str(exc))
