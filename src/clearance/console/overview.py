"""The dashboard and the decision explorer: what is being decided now, and why one decision went as it did."""

from __future__ import annotations

import io
import threading
from collections import Counter, OrderedDict, defaultdict
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import Response

from ..core.instant import InstantError, parse_instant
from ..services.audit_report import at_path
from .charts import bars, minute_chart
from .sessions import Session, Viewer
from .web import Refused, page, redirect, router, signed_in

NS = 1_000_000_000
WINDOW_MIN = 60
WINDOW_CAP = 5000  # records read for the dashboard's hour; beyond it the figures say "at least"
PAGE = 50
KEPT_POLICIES = 2  # replayed policies of past versions kept for the decision explainer
_KEPT_LOCK = threading.Lock()


def audit_log(request: Request) -> Any:
    log = request.app.state.audit
    if log is None:
        raise Refused(503, "the audit log is not configured")
    return log


def scope_of(viewer: Viewer) -> set[str] | None:
    return None if viewer.entities is None else set(viewer.entities)


def row(record: Any) -> dict[str, Any]:
    """One decision record as the explorer lists it."""
    body = record.body
    return {"seq": record.seq, "at": record.at_ns, "entity": at_path(body, "request", "entity"),
            "person": at_path(body, "request", "person", "id"), "model": at_path(body, "request", "model"),
            "use_case": at_path(body, "request", "use_case"), "outcome": at_path(body, "decision", "outcome"),
            "code": at_path(body, "decision", "code")}


@router.get("")
def dashboard(request: Request, who: tuple[Viewer, Session] = Depends(signed_in)) -> Response:
    viewer, session = who
    log = audit_log(request)
    now = log.clock.now_ns()
    start = now - WINDOW_MIN * 60 * NS
    found = since(log, start, WINDOW_CAP, kinds=["decision", "monitoring", "guardrail"], entities=scope_of(viewer))
    per_minute: dict[int, Counter[str]] = defaultdict(Counter)
    codes: Counter[str] = Counter()
    caps: Counter[str] = Counter()
    guards: Counter[str] = Counter()  # prompt- and answer-guard events (blocked, flagged)
    denials = []
    decisions = 0
    for r in found:
        if r.kind == "decision":
            decisions += 1
            outcome = str(at_path(r.body, "decision", "outcome"))
            per_minute[(r.at_ns - start) // (60 * NS)][outcome] += 1
            if outcome != "permit":
                codes[str(at_path(r.body, "decision", "code"))] += 1
                denials.append(row(r))
        elif r.kind == "monitoring" and r.body.get("event") == "cap-exceeded":
            caps[str(r.body.get("authorization") or "-")] += 1
        elif r.kind == "guardrail":
            guards[str(r.body.get("event") or "unspecified")] += 1
    health = _writer_health(log, now)
    return page(request, "dashboard.html", viewer=viewer, session=session, section="dashboard",
                decisions=decisions, capped=len(found) >= WINDOW_CAP, window=WINDOW_MIN,
                minutes=minute_chart(per_minute, WINDOW_MIN, "Decisions per minute by outcome, last hour"),
                by_code=bars("Refusals by code, last hour", codes.most_common(12)),
                refusals=sum(codes.values()), denials=list(reversed(denials))[:10],
                caps=caps.most_common(), cap_total=sum(caps.values()), guards=guards.most_common(), health=health, now=now)


def since(log: Any, start_ns: int, cap: int, **filters: Any) -> list[Any]:
    """Records from ``start_ns`` on (at most ``cap``), found from the end of the log.

    A time filter alone leaves the store to walk the log in seq order from its start; records are
    appended in time order (within a writer's batch), so the seq range is found first by looking back
    through growing windows until one begins before ``start_ns``.
    """
    size = log.store.size()
    window = 1024
    while True:
        low = max(-1, size - window - 1)
        first = log.store.records(low + 1, low + 2) if low >= 0 else []
        if low < 0 or (first and first[0].at_ns < start_ns):
            return log.store.query(after_seq=low, since_ns=start_ns, limit=cap, **filters)
        window *= 4


def _writer_health(log: Any, now: int) -> dict[str, Any]:
    group = log.group
    size = log.store.size()
    head = log.store.latest_head()
    busy = getattr(group, "busy_since", None)
    return {"alive": bool(getattr(group, "alive", False)), "failing": getattr(group, "failing", None),
            "busy": busy, "size": size, "head_size": head.head.size if head else None,
            "head_at": head.head.at_ns if head else None, "unsigned": size - (head.head.size if head else 0)}


def _instant(text: str, name: str, problems: list[str]) -> int | None:
    text = text.strip()
    if not text:
        return None
    if len(text) in (16, 19) and "T" in text:
        text += "Z"  # a datetime-local field's value: read as UTC, as the page says
    try:
        return int(parse_instant(text))
    except (InstantError, ValueError, OverflowError) as exc:
        problems.append(f"{name}: {exc}")
        return None


@router.get("/decisions")
def decisions(request: Request, who: tuple[Viewer, Session] = Depends(signed_in), decision_id: str = "",
              person: str = "", entity: str = "", model: str = "", outcome: str = "", code: str = "",
              since: str = "", until: str = "", after: int | None = None) -> Response:
    viewer, session = who
    if decision_id.strip():
        if not decision_id.strip().isdigit():
            session.flash.append(("error", "decision id: a whole number (a gateway or API answer's decision_id)"))
            request.app.state.console.sessions.save(session)
        else:
            return redirect(f"/console/decisions/{int(decision_id.strip())}")
    log = audit_log(request)
    problems: list[str] = []
    filters = {"person": person.strip() or None, "entity": entity.strip() or None, "model": model.strip() or None,
               "outcome": outcome.strip() or None, "code": code.strip() or None,
               "since_ns": _instant(since, "from", problems), "until_ns": _instant(until, "until", problems)}
    rows: list[dict[str, Any]] = []
    next_after = None
    searched = any(v is not None for v in filters.values())
    if not problems and (searched or after is not None):
        found = log.store.query(kinds=["decision"], entities=scope_of(viewer), after_seq=after, limit=PAGE, **filters)
        rows = [row(r) for r in found]
        next_after = found[-1].seq if len(found) == PAGE else None
    elif not problems:
        rows = _latest(log, viewer)
    form = {"person": person, "entity": entity, "model": model, "outcome": outcome, "code": code, "since": since,
            "until": until}
    query = urlencode({k: v for k, v in form.items() if v})
    return page(request, "decisions.html", viewer=viewer, session=session, section="decisions", rows=rows,
                form=form, problems=problems, searched=searched, next_after=next_after, query=query)


def _latest(log: Any, viewer: Viewer) -> list[dict[str, Any]]:
    return [row(r) for r in latest(log, PAGE, kinds=["decision"], entities=scope_of(viewer))]


def latest(log: Any, want: int, **filters: Any) -> list[Any]:
    """The newest ``want`` records matching ``filters``, newest first.

    The store lists in seq order only, so look back from the end of the log through windows
    that grow fourfold until enough match: only records in the last window are decoded.
    """
    size = log.store.size()
    window = 4 * want
    while True:
        start = max(-1, size - window - 1)
        found = log.store.query(after_seq=start, limit=window + 1, **filters)
        if len(found) >= want or start < 0:
            return list(reversed(found[-want:]))
        window *= 4


@router.get("/decisions/{seq}")
def explain(seq: int, request: Request, who: tuple[Viewer, Session] = Depends(signed_in)) -> Response:
    viewer, session = who
    log = audit_log(request)
    scope = scope_of(viewer)
    if scope is None:
        found = log.store.records(seq, seq + 1) if 0 <= seq < 2**63 - 1 else []
    else:
        found = log.store.query(entities=scope, after_seq=seq - 1, limit=1) if 0 <= seq < 2**63 - 1 else []
    record = found[0] if found and found[0].seq == seq else None
    if record is None or record.kind != "decision" or not isinstance(at_path(record.body, "request"), dict):
        # A scoped auditor learns nothing about other entities' decisions, not even that they exist.
        return page(request, "missing.html", status=404, viewer=viewer, session=session, section="decisions",
                    what=f"decision {seq}")
    decision, text = replay(request, record)
    recorded = at_path(record.body, "decision") or {}
    differs = (decision.outcome, decision.code) != (recorded.get("outcome"), recorded.get("code"))
    return page(request, "explain.html", viewer=viewer, session=session, section="decisions", record=row(record),
                d=decision, text=text, recorded=recorded, differs=differs,
                clauses=decision.obligations if decision.outcome == "permit" else decision.remedies)


def replay(request: Request, record: Any) -> tuple[Any, str]:
    """The recorded request decided again under the policy of its instant, as ``clearance explain --decision-id``."""
    from rich.console import Console

    from ..core.decide import decide_json
    from ..services.explanation import render

    live = request.app.state.live.current()
    version = at_path(record.body, "decision", "policy_version")
    kept: OrderedDict[str, Any] = request.app.state.console.cache.setdefault("policies", OrderedDict())
    with _KEPT_LOCK:
        policy = live if version == live.version else kept.get(version)
        if policy is not None and version in kept:
            kept.move_to_end(version)
    if policy is None:
        # Rebuilding the registry of an instant is the costly part (seconds over 10,000 entities); the
        # policy version is a content hash, so a rebuilt policy serves every decision made under it.
        policy = request.app.state.registry.snapshot(record.at_ns, record.at_ns)
        if policy.version == version:
            with _KEPT_LOCK:
                kept[version] = policy
                while len(kept) > KEPT_POLICIES:
                    kept.popitem(last=False)
    decision = decide_json(policy, record.body["request"], record.at_ns, trace=True)
    out = Console(record=True, width=110, file=io.StringIO(), highlight=False, color_system=None)
    out.print(render(decision))
    return decision, out.export_text()
