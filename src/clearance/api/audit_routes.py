"""The remote audit interface: read-only queries, exports, signed heads and proofs.

Every route here is a GET and only reads: nothing an auditor can send changes the log, not
even a new signed head (the writer signs those on its schedule, at start-up and at a stop). Callers
need ``auditor`` (everything) or ``auditor:<entity>`` (only records naming those
entities). Exports carry each record's exact canonical bytes, so an auditor can
re-hash them and check them against signed heads with the published keys alone.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse

from ..audit.record import AuditRecord, canonical_bytes
from ..core.instant import InstantError, format_instant, parse_instant
from ..registry.service import Credential
from ..services.audit_log import AuditLog, NoSignedHead
from .auth import caller
from .params import INT64_MAX, in_store_range

router = APIRouter(prefix="/v1/audit", tags=["audit"])
PAGE = 1000
CSV_COLUMNS = ("seq", "at", "kind", "entity", "person", "model", "use_case", "outcome", "code", "authorization")


def auditor(who: Credential = Depends(caller)) -> Credential:
    scope = who.audit_entities()
    if scope is not None and not scope:
        raise HTTPException(403, "this token may not read the audit log")
    return who


def _log(request: Request) -> AuditLog:
    log = request.app.state.audit
    if log is None:
        raise HTTPException(503, "the audit log is not configured")
    return log


def _ns(text: str | None, field: str) -> int | None:
    if text is None:
        return None
    try:
        value = parse_instant(text)
    except InstantError as exc:
        raise HTTPException(422, f"{field}: {exc}") from None
    return in_store_range(value, field)


class Filters:
    """Query parameters shared by the listing and the exports."""

    def __init__(
        self,
        since: str | None = Query(None, description="from this instant (inclusive)"),
        until: str | None = Query(None, description="up to this instant (inclusive)"),
        entity: str | None = None,
        person: str | None = None,
        model: str | None = None,
        outcome: str | None = None,
        code: str | None = None,
        kind: list[str] | None = Query(None),
        after_seq: int | None = Query(None, ge=-1, le=INT64_MAX),
    ) -> None:
        self.args = {
            "since_ns": _ns(since, "since"),
            "until_ns": _ns(until, "until"),
            "entity": entity,
            "person": person,
            "model": model,
            "outcome": outcome,
            "code": code,
            "kinds": kind,
            "after_seq": after_seq,
        }

    def run(self, log: AuditLog, who: Credential, limit: int) -> list[AuditRecord]:
        scope = who.audit_entities()
        return log.store.query(**self.args, entities=set(scope) if scope is not None else None, limit=limit)

    def pages(self, log: AuditLog, who: Credential) -> Iterator[AuditRecord]:
        after = self.args["after_seq"]
        while True:
            self.args["after_seq"] = after
            batch = self.run(log, who, PAGE)
            yield from batch
            if len(batch) < PAGE:
                return
            after = batch[-1].seq


def _out(record: AuditRecord) -> dict[str, Any]:
    return {"seq": record.seq, "at": format_instant(record.at_ns), "kind": record.kind, "body": record.body}


@router.get("/records")
def records(request: Request, limit: int = Query(100, ge=1, le=PAGE), filters: Filters = Depends(), who: Credential = Depends(auditor)) -> dict[str, Any]:
    found = filters.run(_log(request), who, limit)
    return {"records": [_out(r) for r in found], "next_after_seq": found[-1].seq if len(found) == limit else None}


@router.get("/export.jsonl")
def export_jsonl(request: Request, filters: Filters = Depends(), who: Credential = Depends(auditor)) -> StreamingResponse:
    lines = (canonical_bytes(r) + b"\n" for r in filters.pages(_log(request), who))
    return StreamingResponse(_started(lines), media_type="application/x-ndjson")


@router.get("/export.csv")
def export_csv(request: Request, filters: Filters = Depends(), who: Credential = Depends(auditor)) -> StreamingResponse:
    log = _log(request)

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for r in filters.pages(log, who):
            writer.writerow(_flat(r))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(_started(rows()), media_type="text/csv")


def _started(chunks: Iterator[Any]) -> Iterator[Any]:
    """``chunks`` with its first item already produced: the first page's query runs before the 200
    is sent, so a bad filter or an unavailable store is answered with its status, not a cut stream."""
    first = next(chunks, None)
    return itertools.chain(() if first is None else (first,), chunks)


def _flat(r: AuditRecord) -> list[Any]:
    body = r.body
    req = body.get("request") if isinstance(body.get("request"), dict) else {}
    dec = body.get("decision") if isinstance(body.get("decision"), dict) else {}
    person = req.get("person") if isinstance(req.get("person"), dict) else {}
    return [
        r.seq,
        format_instant(r.at_ns),
        r.kind,
        req.get("entity", body.get("entity", "")),
        person.get("id", body.get("person", "")),
        req.get("model", body.get("model", "")),
        req.get("use_case", ""),
        dec.get("outcome", ""),
        dec.get("code", ""),
        dec.get("authorization") or "",
    ]


@router.get("/heads")
def heads(request: Request, who: Credential = Depends(auditor)) -> list[dict[str, Any]]:
    return [h.to_dict() for h in _log(request).store.heads()]


@router.get("/heads/latest")
def latest_head(request: Request, who: Credential = Depends(auditor)) -> dict[str, Any]:
    try:
        return _log(request).latest_head().to_dict()
    except NoSignedHead as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/checkpoint")
def checkpoint(request: Request, who: Credential = Depends(auditor)) -> Response:
    """The latest signed head as a C2SP tlog-checkpoint signed note (text/plain), for standard verifiers and witnesses."""
    try:
        return Response(_log(request).checkpoint(), media_type="text/plain; charset=utf-8")
    except NoSignedHead as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/checkpoint/keys")
def checkpoint_keys(request: Request, who: Credential = Depends(auditor)) -> dict[str, Any]:
    """The checkpoints' origin and verifier keys (``<name>+<hash>+<base64 key>``), retired keys included."""
    log = _log(request)
    return {"origin": log.origin, "verifier_keys": log.verifier_keys()}


@router.get("/proofs/inclusion")
def inclusion(request: Request, seq: int = Query(..., ge=0, le=INT64_MAX), size: int | None = Query(None, ge=0, le=INT64_MAX), who: Credential = Depends(auditor)) -> dict[str, Any]:
    log = _log(request)
    scope = who.audit_entities()
    if scope is not None:
        found = log.store.query(entities=set(scope), after_seq=seq - 1, limit=1)
        if not found or found[0].seq != seq:
            raise HTTPException(404, f"no record {seq} within this token's entities")
    try:
        return log.inclusion(seq, size).to_dict()
    except (ValueError, NoSignedHead) as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/proofs/consistency")
def consistency(request: Request, first: int = Query(..., ge=0, le=INT64_MAX), second: int | None = Query(None, ge=0, le=INT64_MAX), who: Credential = Depends(auditor)) -> dict[str, Any]:
    try:
        return _log(request).consistency(first, second)
    except (ValueError, NoSignedHead) as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/reports/{entity}/{quarter}")
def quarterly_report(request: Request, entity: str, quarter: str, format: str = Query("json", pattern="^(json|html)$"),
                     who: Credential = Depends(auditor)) -> Any:
    from fastapi.responses import HTMLResponse

    from ..services.audit_report import ReportError, entity_known, quarter_report
    from ..services.report_html import render_html

    scope = who.audit_entities()
    if scope is not None and entity not in scope:
        raise HTTPException(403, f"this token may not read the audit records of `{entity}`")
    entities = request.app.state.live.current().entities
    if not entity_known(_log(request), entity, entities):
        raise HTTPException(404, f"entity `{entity}` is not in the policy and no record names it")
    try:
        found = quarter_report(_log(request), entity, quarter, entities.get(entity))
    except ReportError as exc:
        raise HTTPException(422, str(exc)) from None
    except NoSignedHead as exc:
        raise HTTPException(404, str(exc)) from None
    return HTMLResponse(render_html(found)) if format == "html" else found


@router.get("/keys")
def keys(request: Request, who: Credential = Depends(auditor)) -> dict[str, str]:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    published = _log(request).keys.public_keys()
    return {kid: key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode() for kid, key in published.items()}
