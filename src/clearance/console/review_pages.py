"""Reviewers' work: the screening queue, licence applications with their clocks, and the public criteria.

Clearing or confirming a finding calls ``ScreeningService.review`` and every application step
``LicensingService.act``: the calls ``POST /v1/screening/findings/{subject}/clear`` and
``POST /v1/applications/{id}/{action}`` make, with the signed-in credential as the actor.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response

from ..licensing.transitions import BY_ACTION, REVIEWER
from .sessions import Session, Viewer
from .web import Posted, act, need, page, posted, router, signed_in

PERSON = "person:"


def _entity_of(request: Request, subject: str) -> str | None:
    if subject.startswith(PERSON):
        person = request.app.state.registry.person(subject.removeprefix(PERSON))
        return person.entity if person is not None else None
    return subject


def _explanation(request: Request, finding: dict[str, Any]) -> dict[str, Any] | None:
    """The audited screening that raised this finding: the subject as screened and the hit, with why it matched."""
    log = request.app.state.audit
    if log is None:
        return None
    subject = finding["subject"]
    who = {"person": subject.removeprefix(PERSON)} if subject.startswith(PERSON) else {"entity": subject}
    for record in reversed(log.store.query(kinds=["screening"], limit=500, **who)):
        body = record.body
        if body.get("action") == "flagged" and body.get("registry_seq") == finding["seq"]:
            return {"seq": record.seq, "query": body.get("query") or {}, "hit": body.get("hit") or {}}
    return None


@router.get("/screening")
def screening(request: Request, who: tuple[Viewer, Session] = Depends(signed_in), all: bool = False) -> Response:  # noqa: A002
    viewer, session = who
    service = request.app.state.screening
    found = [f for f in service.findings(include_cleared=all) if viewer.sees(_entity_of(request, f["subject"]))]
    for f in found:
        f["explained"] = _explanation(request, f)
    return page(request, "screening.html", viewer=viewer, session=session, section="screening", findings=found,
                all=all)


@router.post("/screening/{subject}/{action}")
def review(subject: str, action: str, request: Request, done: Posted = Depends(posted)) -> Response:
    from ..registry.service import WriteRejected
    from ..screening.service import ReviewRejected

    reason = need(done.get("reason"), "reason")
    service = request.app.state.screening

    def call() -> Any:
        try:
            return service.review(subject, action, done.viewer.key, reason)
        except ReviewRejected as exc:
            raise WriteRejected(exc.status, [str(exc)]) from None

    verb = "cleared" if action == "clear" else "confirmed"
    return act(done, "/console/screening", call, lambda r: f"{subject}: finding {verb} (registry change {r.seq})")


@router.get("/applications")
def applications(request: Request, who: tuple[Viewer, Session] = Depends(signed_in), state: str = "") -> Response:
    viewer, session = who
    service = request.app.state.licensing
    rows = []
    for app_id, body in service.all(state=state or None).items():
        if not viewer.sees(body.get("entity")):
            continue
        view = service.view(app_id, body)
        rows.append({"id": app_id, "entity": body["entity"], "state": body["state"], "reviewer": body.get("reviewer"),
                     "submitted": body.get("submitted"), "clocks": view["clocks"]})
    due = service.due()
    for name in ("overdue", "due_soon", "applicant_windows_closed"):
        due[name] = [d for d in due[name] if viewer.sees(d["entity"])]
    return page(request, "applications.html", viewer=viewer, session=session, section="applications", rows=rows,
                due=due, state=state)


@router.get("/applications/{app_id}")
def application(app_id: str, request: Request, who: tuple[Viewer, Session] = Depends(signed_in)) -> Response:
    from ..licensing.service import NotFound

    viewer, session = who
    service = request.app.state.licensing
    try:
        view = service.view(app_id)
    except NotFound:
        view = None
    if view is None or not viewer.sees(view.get("entity")):
        return page(request, "missing.html", status=404, viewer=viewer, session=session, section="applications",
                    what=f"application `{app_id}`")
    actions = [t.action for t in BY_ACTION.values() if view["state"] in t.sources]
    return page(request, "application.html", viewer=viewer, session=session, section="applications", a=view,
                actions=actions, reviewer_actions={a for a, t in BY_ACTION.items() if t.party == REVIEWER})


@router.post("/applications/{app_id}/act")
def application_act(app_id: str, request: Request, done: Posted = Depends(posted)) -> Response:
    action = need(done.get("action"), "action")
    params: dict[str, Any] = {}
    if done.get("note"):
        params["note"] = done.get("note")
    if done.get("reviewer"):
        params["reviewer"] = done.get("reviewer")

    def call() -> Any:
        from ..licensing.applications import TransitionRefused
        from ..registry.service import WriteRejected

        try:
            return request.app.state.licensing.act(app_id, action, done.viewer.key, params)
        except TransitionRefused as exc:
            raise WriteRejected(exc.status, exc.problems) from None

    return act(done, f"/console/applications/{app_id}", call, lambda v: f"{app_id}: {action} done; now {v['state']}")


@router.get("/criteria")
def public_criteria(request: Request) -> Response:
    """What a licence requires, from the policy in force: public, like ``GET /v1/criteria``."""
    from ..licensing.criteria import criteria
    from ..licensing.render import criteria_blocks
    from .web import _resolve

    found = _resolve(request)
    viewer, session = found if found is not None else (None, None)
    doc = criteria(request.app.state.live.current(), request.app.state.live.clock.now_ns())
    return page(request, "criteria.html", viewer=viewer, session=session, section="criteria",
                blocks=criteria_blocks(doc))
