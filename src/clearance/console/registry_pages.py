"""The registry: entities, people, keys, licences, suspensions and restrictions, each with its dated history.

Changes go through :class:`clearance.registry.service.RegistryService`'s own calls (``retire``,
``suspend``, ``create_credential``) with the signed-in credential as the actor, exactly as the
admin API's routes call them, so the same checks apply and the same audit records are written.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response

from ..core.instant import InstantError, format_instant, parse_instant
from ..registry.service import RegistryService
from ..registry.view import record_out
from .listings import Listing
from .sessions import Session, Viewer
from .web import Posted, Refused, act, need, page, posted, router, signed_in

PAGE = 100
TABS = (("entities", "Entities"), ("people", "People"), ("keys", "Keys"), ("licences", "Licences"),
        ("suspensions", "Suspensions"), ("restrictions", "Restrictions"))
KIND = {"entities": "entity", "people": "person", "keys": "credential", "licences": "authorization",
        "suspensions": "suspension", "restrictions": "restriction"}
SCOPES = ("admin", "auditor", "gateway", "metrics", "screening")
RETIRABLE = ("entity", "person", "authorization", "restriction")  # what `POST /v1/{resource}/{key}/retire` retires


def svc(request: Request) -> RegistryService:
    return request.app.state.registry


def _covers(body: Any) -> set[str]:
    covers = body.get("covers") if isinstance(body, dict) else None
    entities = covers.get("entities") if isinstance(covers, dict) else None
    return set(entities) if isinstance(entities, list) else set()


def _visible(viewer: Viewer, kind: str, key: str, body: Any, policy: Any) -> bool:
    """Whether a record belongs to the entities this viewer may see (everything for admin and auditor)."""
    if viewer.entities is None:
        return True
    body = body if isinstance(body, dict) else {}
    if kind in ("entity", "restriction"):
        return viewer.sees(key) or viewer.sees(body.get("entity"))
    if kind == "person":
        return viewer.sees(body.get("entity"))
    if kind == "authorization":
        auth = _authorization(policy, key)
        covered = set(auth.coverage.entities) if auth is not None else _covers(body)
        return bool(covered & viewer.entities)
    if kind == "suspension":
        return viewer.sees(body.get("entity")) or _visible(viewer, "authorization", str(body.get("authorization")),
                                                            None, policy)
    return False  # keys and anything else: only for readers of every entity


def _authorization(policy: Any, key: str) -> Any:
    if policy is None:
        return None
    return next((a for a in policy.policy.authorizations if a.id == key), None)


def _rows(request: Request, viewer: Viewer, tab: str, q: str, start: int) -> tuple[int, list[dict[str, Any]]]:
    """How many records of ``tab`` match, and the page of them from ``start`` (only those are formatted)."""
    live = request.app.state.live.current()
    q = q.lower()
    if tab == "entities":
        found: list[Any] = [e for e in live.policy.entities
                            if viewer.sees(e.id) and (not q or q in e.id.lower() or q in e.name.lower())]
        cells = _entity_cells
    elif tab == "licences":
        found = [a for a in live.policy.authorizations
                 if _visible(viewer, "authorization", a.id, None, live) and (not q or q in a.id.lower())]
        cells = _licence_cells
    else:
        kind = KIND[tab]
        held = _state(request, kind)
        if viewer.entities is None and not q:
            found = held  # the cached listing itself: nothing is built per request for 10,000 records
        else:
            found = [item for item in held if (not q or q in item[2])
                     and _visible(viewer, kind, item[0], item[1].body or {}, live)]

        def cells(item: tuple[str, Any, str]) -> dict[str, Any]:
            return {"key": item[0], "cells": _cells(kind, item[1].body or {})}

    start = max(0, min(start, max(0, len(found) - 1)))
    return len(found), [cells(item) for item in found[start:start + PAGE]]


def _entity_cells(e: Any) -> dict[str, Any]:
    return {"key": e.id, "cells": [e.name, e.country, e.kind, "restricted: " + e.restriction.status if e.restriction else "none"]}


def _licence_cells(a: Any) -> dict[str, Any]:
    valid = format_instant(a.start)[:10] + " – " + (format_instant(a.end)[:10] if a.end else "open")
    return {"key": a.id, "cells": [a.title or a.kind, ", ".join(sorted(a.models)), valid,
                                   f"{len(a.suspensions)} suspension(s)" if a.suspensions else ""]}


def _state(request: Request, kind: str) -> list[tuple[str, Any, str]]:
    """The records of ``kind`` in force now, sorted, with their search text (see :mod:`.listings`)."""
    service = svc(request)
    now = service.clock.now_ns()
    cache = request.app.state.console.cache
    listing = cache.get(kind)
    if listing is None:
        listing = cache[kind] = Listing(kind, service, now)
        return listing.items
    return listing.current(service, now)


def _cells(kind: str, body: dict[str, Any]) -> list[str]:
    if kind == "person":
        return [body.get("entity", ""), ", ".join(body.get("citizenships", [])), body.get("location", "")]
    if kind == "credential":
        return [body.get("label", ""), ", ".join(body.get("scopes", [])), body.get("person") or body.get("entity") or ""]
    if kind == "suspension":
        return [body.get("authorization", ""), body.get("entity") or "all covered", str(body.get("from", "")),
                str(body.get("until") or "open")]
    if kind == "restriction":
        return [body.get("status", ""), body.get("list", ""), body.get("reference", "")]
    return [json.dumps(body)[:80]]


HEADERS = {"entities": ["name", "country", "kind", "restriction"], "people": ["entity", "citizenships", "location"],
           "keys": ["label", "scopes", "person or entity"], "licences": ["title", "models", "valid", "suspensions"],
           "suspensions": ["authorization", "entity", "from", "until"], "restrictions": ["status", "list", "reference"]}


@router.get("/registry")
def registry(request: Request, who: tuple[Viewer, Session] = Depends(signed_in), tab: str = "entities", q: str = "",
             start: int = 0) -> Response:
    viewer, session = who
    tab = tab if tab in KIND else "entities"
    total, rows = _rows(request, viewer, tab, q.strip(), start)
    start = max(0, min(start, max(0, total - 1)))
    return page(request, "registry.html", viewer=viewer, session=session, section="registry", tabs=TABS, tab=tab,
                q=q, rows=rows, total=total, start=start, page_size=PAGE, headers=HEADERS[tab],
                scopes=SCOPES, kind=KIND[tab])


@router.get("/registry/{kind}/{key}")
def record(kind: str, key: str, request: Request, who: tuple[Viewer, Session] = Depends(signed_in)) -> Response:
    viewer, session = who
    service = svc(request)
    live = request.app.state.live.current()
    history = [record_out(r) for r in service.history(kind, key)] if kind in KIND.values() else []
    current = next((h for h in reversed(history)), None)
    in_policy = None
    if kind == "entity" and key in live.entities:
        in_policy = live.entities[key]
    elif kind == "authorization":
        in_policy = _authorization(live, key)
    body = current["record"] if current else None
    if (not history and in_policy is None) or not _visible(viewer, kind, key, body or {}, live):
        return page(request, "missing.html", status=404, viewer=viewer, session=session, section="registry",
                    what=f"{kind} `{key}`")
    return page(request, "record.html", viewer=viewer, session=session, section="registry", kind=kind, key=key,
                history=list(reversed(history)), current=current, in_policy=in_policy,
                body=json.dumps(body, indent=2, sort_keys=True) if body is not None else None,
                retired=current is not None and current["op"] == "retire", retirable=kind in RETIRABLE)


def _instant(text: str, name: str) -> str | None:
    """A form's instant as the service's text; a datetime-local value is read as UTC (the form says so)."""
    text = text.strip()
    if not text:
        return None
    if len(text) in (16, 19) and "T" in text:
        text += "Z"
    try:
        return format_instant(parse_instant(text))
    except InstantError as exc:
        from ..registry.service import WriteRejected

        raise WriteRejected(422, [f"{name}: {exc}"]) from None


@router.post("/registry/credential/{key}/revoke")
def revoke(key: str, request: Request, done: Posted = Depends(posted)) -> Response:
    reason = need(done.get("reason"), "reason")

    def call() -> Any:
        found = svc(request).retire("credential", key, None, done.viewer.key, reason)
        request.app.state.console.sessions.end_credential(key)
        return found

    return act(done, f"/console/registry/credential/{key}", call, f"key {key} revoked: it is refused from now on")


@router.post("/registry/{kind}/{key}/retire")
def retire(kind: str, key: str, request: Request, done: Posted = Depends(posted)) -> Response:
    if kind not in RETIRABLE:
        raise Refused(404, f"`{kind}` records are not retired here")
    reason = need(done.get("reason"), "reason")

    def call() -> Any:
        return svc(request).retire(kind, key, None, done.viewer.key, reason)

    return act(done, f"/console/registry/{kind}/{key}", call, f"{kind} {key} retired")


@router.post("/registry/authorization/{key}/suspend")
def suspend(key: str, request: Request, done: Posted = Depends(posted)) -> Response:
    reason = need(done.get("reason"), "reason")
    suspension = need(done.get("suspension"), "suspension id")

    def call() -> Any:
        body: dict[str, Any] = {"authorization": key, "from": _instant(done.get("from"), "from") or
                                format_instant(request.app.state.live.clock.now_ns()), "reason": reason}
        if done.get("until"):
            body["until"] = _instant(done.get("until"), "until")
        if done.get("entity"):
            body["entity"] = done.get("entity")
        return svc(request).suspend(suspension, body, done.viewer.key, reason)

    return act(done, f"/console/registry/authorization/{key}", call, f"suspension {suspension} of {key} recorded")


@router.post("/registry/keys")
def issue(request: Request, done: Posted = Depends(posted)) -> Response:
    reason = need(done.get("reason"), "reason")
    scope = need(done.get("scope"), "scope")
    fields = {k: done.get(k) for k in ("label", "person", "entity") if done.get(k)}

    def call() -> Any:
        return svc(request).create_credential([scope], done.viewer.key, reason, **fields)

    return act(done, "/console/registry?tab=keys", call,
               lambda issued: f"key {issued.key} issued; its token, shown once: {issued.token}")
