"""Audit (signed heads, verification, quarterly reports as charts, exports) and evaluations (runs, tiers).

Read-only pages: what the remote audit interface (``/v1/audit``) and ``clearance tier show``
give, for a signed-in reader, scoped to their entities.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response, StreamingResponse

from ..audit.record import canonical_bytes
from ..services.audit_report import at_path
from .charts import bars
from .overview import audit_log, latest, scope_of
from .sessions import Session, Viewer
from .web import Refused, headers, page, router, signed_in

EXPORT_PAGE = 1000
HEADS_SHOWN = 20
RECENT_SHOWN = 30
KINDS = ("decision", "completion", "monitoring", "screening", "admin-change", "licensing", "guardrail")


@router.get("/audit")
def audit(request: Request, who: tuple[Viewer, Session] = Depends(signed_in), verify: bool = False,
          entity: str = "", quarter: str = "", kind: str = "") -> Response:
    from ..services.audit_log import NoSignedHead
    from ..services.audit_report import ReportError, quarter_report

    viewer, session = who
    log = audit_log(request)
    heads = log.store.heads()[-HEADS_SHOWN:]
    checked = log.verify() if verify else None
    live = request.app.state.live.current()
    entities = sorted(e for e in live.entities if viewer.sees(e))
    report, problem = None, None
    if entity and quarter:
        if not viewer.sees(entity):
            problem = f"this session may not read the audit records of `{entity}`"
        else:
            try:
                report = quarter_report(log, entity, quarter, live.entities.get(entity))
            except (ReportError, NoSignedHead) as exc:
                problem = str(exc)
    charts = {}
    if report is not None:
        by_model: dict[str, int] = {}
        for u in report["usage"]:
            by_model[u["model"]] = by_model.get(u["model"], 0) + u["requests"]
        charts = {"models": bars("Permitted requests by model", sorted(by_model.items(), key=lambda kv: -kv[1])),
                  "denials": bars("Refusals by code", list(report["denials_by_code"].items())),
                  "months": bars("Decisions by month", [(m, sum(v for k, v in c.items() if k != "tokens"))
                                                        for m, c in report["by_month"].items()])}
    size = log.store.size()
    found = latest(log, RECENT_SHOWN, kinds=[kind] if kind else None, entities=scope_of(viewer))
    recent = [{"seq": r.seq, "at": r.at_ns, "kind": r.kind, "body": json.dumps(r.body, sort_keys=True)[:600]}
              for r in found]
    return page(request, "audit.html", viewer=viewer, session=session, section="audit", heads=list(reversed(heads)),
                size=size, checked=checked, recent=recent, kind=kind, kinds=KINDS, entities=entities[:500], entity=entity, quarter=quarter,
                report=report, charts=charts, problem=problem)


@router.get("/audit/report.html")
def report_page(request: Request, entity: str, quarter: str, who: tuple[Viewer, Session] = Depends(signed_in)) -> Response:
    """The full quarterly report as the audit API renders it (``format=html``): a self-contained page to keep."""
    from fastapi.responses import HTMLResponse

    from ..services.audit_log import NoSignedHead
    from ..services.audit_report import ReportError, entity_known, quarter_report
    from ..services.report_html import render_html

    viewer, _ = who
    log = audit_log(request)
    entities = request.app.state.live.current().entities
    if not viewer.sees(entity):
        raise Refused(403, f"this session may not read the audit records of `{entity}`")
    if not entity_known(log, entity, entities):
        raise Refused(404, f"entity `{entity}` is not in the policy and no record names it")
    try:
        found = quarter_report(log, entity, quarter, entities.get(entity))
    except (ReportError, NoSignedHead) as exc:
        raise Refused(422, str(exc)) from None
    response = headers(HTMLResponse(render_html(found)))
    # The report carries its own small stylesheet inline (it is read offline); it has no script at all.
    response.headers["content-security-policy"] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    return response


def _pages(log: Any, viewer: Viewer, kinds: list[str] | None) -> Iterator[Any]:
    after = -1
    while True:
        batch = log.store.query(kinds=kinds, entities=scope_of(viewer), after_seq=after, limit=EXPORT_PAGE)
        yield from batch
        if len(batch) < EXPORT_PAGE:
            return
        after = batch[-1].seq


@router.get("/audit/export.jsonl")
def export_jsonl(request: Request, who: tuple[Viewer, Session] = Depends(signed_in), kind: str = "") -> Response:
    """Every record this session may read, as its exact canonical bytes (re-hashable against signed heads)."""
    records = _pages(audit_log(request), who[0], [kind] if kind else None)
    response = StreamingResponse((canonical_bytes(r) + b"\n" for r in records), media_type="application/x-ndjson")
    response.headers["content-disposition"] = "attachment; filename=audit.jsonl"
    return headers(response)


@router.get("/audit/export.csv")
def export_csv(request: Request, who: tuple[Viewer, Session] = Depends(signed_in), kind: str = "decision") -> Response:
    records = _pages(audit_log(request), who[0], [kind] if kind else None)

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(("seq", "at_ns", "kind", "entity", "person", "model", "use_case", "outcome", "code"))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        for r in records:
            body = r.body
            writer.writerow((r.seq, r.at_ns, r.kind, at_path(body, "request", "entity") or body.get("entity", ""),
                             at_path(body, "request", "person", "id") or body.get("person", ""),
                             at_path(body, "request", "model") or body.get("model", ""), at_path(body, "request", "use_case") or "",
                             at_path(body, "decision", "outcome") or "", at_path(body, "decision", "code") or ""))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    response = StreamingResponse(rows(), media_type="text/csv")
    response.headers["content-disposition"] = "attachment; filename=audit.csv"
    return headers(response)


class _Now:
    """The registry service seen through the live snapshot: ``tier_of`` without recompiling the policy per model."""

    def __init__(self, service: Any, live: Any) -> None:
        self.service, self.live = service, live

    def snapshot(self, valid_at: int | None = None) -> Any:
        return self.live

    def state(self, valid_at: int | None = None, known_at: int | None = None, kind: str | None = None) -> Any:
        return self.service.state(valid_at, known_at, kind)


def _runs(request: Request) -> Any:
    engine = getattr(request.app.state.registry.store, "engine", None)
    if engine is None:
        return None
    from ..evals.runs import Runs
    from ..store.sql.evals import SqlEvalStore

    return Runs(SqlEvalStore(engine), request.app.state.live.clock.now_ns)


@router.get("/evals/{run_id}")
def eval_run(run_id: str, request: Request, who: tuple[Viewer, Session] = Depends(signed_in)) -> Response:
    """One run as ``GET /v1/evals/{id}`` reports it: provenance, counts, the headline rate with its interval."""
    from ..evals.errors import EvalError

    viewer, session = who
    runs = _runs(request)
    try:
        report = runs.report(run_id) if runs is not None else None
    except EvalError:
        report = None
    if report is None:
        return page(request, "missing.html", status=404, viewer=viewer, session=session, section="evals",
                    what=f"evaluation run `{run_id}`")
    labels = bars("Judge labels", list(report["counts"]["labels"].items()))
    return page(request, "eval_run.html", viewer=viewer, session=session, section="evals", r=report, labels=labels)


@router.get("/evals")
def evals(request: Request, who: tuple[Viewer, Session] = Depends(signed_in)) -> Response:
    from ..evals.evidence import tier_of

    viewer, session = who
    service = request.app.state.registry
    live = request.app.state.live.current()
    now = _Now(service, live)
    tiers = [tier_of(now, m.id) for m in live.policy.models]
    found = _runs(request)
    runs = found.list(50) if found is not None else None
    return page(request, "evals.html", viewer=viewer, session=session, section="evals", tiers=tiers, runs=runs)
