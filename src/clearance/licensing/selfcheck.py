"""Self-check: an organization and a prospective use against the published criteria.

For every model × use case × kind of user the self-check builds the contract
request that user would send and asks the core's own ``decide`` for the verdict,
so the overall answer can never disagree with a real decision. The
per-requirement rows (the "why" and the remedies) come from the same compiled
index and the same step functions the core evaluates with, run for every
requirement rather than stopping at the first failure, so one check lists
everything that stands in the way.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from typing import Any

from ..core.decide import decide
from ..core.decision import Code, Outcome
from ..core.errors import RequestError
from ..core.evaluation import Evaluation
from ..core.index import CompiledPolicy
from ..core.instant import format_instant
from ..core.model import LISTED, NOT_CONTROLLED, SUSPENDED, Entity
from ..core.request import PersonRef, Request
from ..core.steps import authorization
from ..core.steps.destinations import resolve
from ..policy.snapshot import snapshot
from .criteria import AUTHORIZED, CONTROL, EMBARGO, RESTRICTED, USE, qualification_id, test_text
from .record import InputError, Organization, Prospect, UserProfile

PASS, FAIL, REVIEW, NA = "pass", "fail", "review", "n/a"
NEEDS_LICENCE = (Code.LICENSE_REQUIRED, Code.USE_CASE_NOT_AUTHORIZED, Code.DESTINATION_NOT_AUTHORIZED, Code.AUTHORIZATION_SUSPENDED)


@dataclasses.dataclass(frozen=True)
class Subject:
    """The organization checked, the policy it is checked under, and what was assumed."""

    entity: Entity
    compiled: CompiledPolicy
    registered: bool
    notes: tuple[str, ...]


def subject(compiled: CompiledPolicy, organization: str | Organization) -> Subject:
    """The entity to check: a registered one (optionally with what-if facts) or a described one.

    A described organization carries no designation, named use case or
    restriction: those are conferred by the regulator, not claimed.
    """
    if isinstance(organization, str):
        found = compiled.entities.get(organization)
        if found is None:
            raise InputError([f"organization: unknown entity `{organization}`; describe it as an object instead"])
        return Subject(found, compiled, True, ())
    known = compiled.entities.get(organization.id)
    if known is not None:
        if not organization.facts:
            return Subject(known, compiled, True, ())
        entity = dataclasses.replace(known, facts=tuple(sorted({**dict(known.facts), **organization.facts}.items())))
        notes = (f"facts assumed for the check: {', '.join(sorted(organization.facts))}",)
    else:
        problems = [f"organization.{f}: missing (needed for an organization that is not registered)" for f in ("country", "kind") if getattr(organization, f) is None]
        if problems:
            raise InputError(problems)
        assert organization.country is not None and organization.kind is not None
        entity = Entity(organization.id, organization.name or organization.id, organization.country, organization.kind, facts=tuple(sorted(organization.facts.items())))
        notes = ("not registered: checked as described, with no designation, named use case or restriction",)
    others = tuple(e for e in compiled.policy.entities if e.id != entity.id)
    policy = dataclasses.replace(compiled.policy, entities=tuple(sorted((*others, entity), key=lambda e: e.id)))
    return Subject(entity, snapshot(policy), False, notes)


def normalized(models: list[str], use_cases: list[str], users: list[UserProfile]) -> tuple[list[str], list[str], list[UserProfile]]:
    """Sorted and without repeats, so the same use described twice is checked identically."""
    unique: dict[tuple[Any, ...], UserProfile] = {}
    for u in users:
        unique.setdefault(u.key(), u)
    return sorted(set(models)), sorted(set(use_cases)), [unique[k] for k in sorted(unique, key=repr)]


def problems(compiled: CompiledPolicy, models: list[str], use_cases: list[str], users: list[UserProfile]) -> list[str]:
    """Ids the policy does not know and users the deemed-export rules cannot place."""
    out = [f"models[{i}]: unknown model `{m}`" for i, m in enumerate(models) if m not in compiled.models]
    out += [f"use_cases[{i}]: unknown use case `{u}`" for i, u in enumerate(use_cases) if u not in compiled.use_cases]
    for i, user in enumerate(users):
        try:
            resolve(_person(user, None), compiled.home, compiled.deemed_rule)
        except RequestError as exc:
            sub = exc.field.removeprefix("person").removeprefix(".")
            out.append(f"users[{i}]{'.' + sub if sub else ''}: {exc.message}")
    return out


def _person(user: UserProfile, employer: str | None) -> PersonRef:
    return PersonRef(None, tuple(user.citizenships), user.permanent_residency, user.deemed_country, user.location, employer)


def self_check(compiled: CompiledPolicy, prospect: Prospect, at: int) -> dict[str, Any]:
    """The per-requirement pass/fail table of ``prospect`` at ``at``; raises :class:`InputError`."""
    who = subject(compiled, prospect.organization)
    models, use_cases, users = normalized(prospect.models, prospect.use_cases, prospect.users)
    found = problems(compiled, prospect.models, prospect.use_cases, prospect.users)
    if found:
        raise InputError(found)
    return check(who, models, use_cases, users, at)


def check(who: Subject, models: list[str], use_cases: list[str], users: list[UserProfile], at: int) -> dict[str, Any]:
    cells = []
    for model in models:
        for use_case in use_cases:
            for n, user in enumerate(users):
                request = Request(model, who.entity.id, use_case, _person(user, None), at)
                decision = decide(who.compiled, request)
                cells.append(
                    {
                        "model": model,
                        "use_case": use_case,
                        "user": user.label or f"users[{n}]",
                        "person": user.person(),
                        "destinations": list(decision.destinations),
                        "outcome": str(decision.outcome),
                        "code": str(decision.code),
                        "authorization": decision.authorization,
                        "obligations": [o.to_dict() for o in decision.obligations],
                        "remedies": [r.to_dict() for r in decision.remedies],
                        "reasons": [r.to_dict() for r in decision.reasons],
                        "rows": rows(who.compiled, who.entity, request),
                    }
                )
    return {
        "organization": {
            "id": who.entity.id,
            "name": who.entity.name,
            "registered": who.registered,
            "notes": list(who.notes),
        },
        "at": format_instant(at),
        "policy_version": who.compiled.version,
        "outcome": verdict_of(cells),
        "requirements": summary(cells),
        "cells": cells,
    }


def verdict_of(cells: list[dict[str, Any]]) -> str:
    """``permitted`` (nothing to apply for), ``licence-needed`` (a licence is all that is missing),
    ``review`` (a possible restricted-party match), or ``not-possible`` (a licence would not suffice)."""
    codes = {c["code"] for c in cells if c["outcome"] != Outcome.PERMIT}
    if not codes:
        return "permitted"
    if Code.PENDING_REVIEW in codes:
        return "review"
    return "licence-needed" if codes <= set(NEEDS_LICENCE) else "not-possible"


def summary(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per requirement: its worst status over every cell, the cells failing it, the remedies."""
    order = {PASS: 0, NA: -1, REVIEW: 1, FAIL: 2}
    out: dict[str, dict[str, Any]] = {}
    for i, cell in enumerate(cells):
        for row in cell["rows"]:
            line = out.setdefault(row["id"], {"id": row["id"], "text": row["text"], "status": NA, "failing": [], "remedies": []})
            if order[row["status"]] > order[line["status"]]:
                line["status"] = row["status"]
            if row["status"] in (FAIL, REVIEW):
                line["failing"].append(i)
                for remedy in row["remedies"]:
                    if remedy not in line["remedies"]:
                        line["remedies"].append(remedy)
    return list(out.values())


def _row(rid: str, text: str, status: str, detail: str, remedies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": rid, "text": text, "status": status, "detail": detail, "remedies": remedies or []}


def rows(compiled: CompiledPolicy, entity: Entity, request: Request) -> list[dict[str, Any]]:
    """Every requirement for one request, each evaluated with the core's own index and steps."""
    model = compiled.models[request.model]
    seg = bisect_right(model.breaks, request.at_key)
    segment = model.segments[seg]
    out = []
    r = entity.restriction
    if r is None:
        out.append(_row(RESTRICTED, "not a restricted party", PASS, "no restricted-party flag"))
    else:
        status = FAIL if r.status == LISTED else REVIEW
        out.append(_row(RESTRICTED, "not a restricted party", status, f"{r.status} on {r.list}: {r.reason}".rstrip(": ")))
    if segment.state == NOT_CONTROLLED:
        note = f"{model.name} is not controlled at this instant ({segment.rule})"
        out.append(_row(CONTROL, "model not suspended", NA, note))
        return out
    suspended = segment.state == SUSPENDED
    out.append(_row(CONTROL, "model not suspended", FAIL if suspended else PASS, f"{model.name} is {segment.state} under {segment.rule}"))
    class_id, prohibited = compiled.use_cases[request.use_case]
    out.append(_row(USE, "use case not prohibited", FAIL if prohibited else PASS, f"`{request.use_case}` is in class `{class_id}`"))
    dests, source = resolve(request.person, compiled.home, compiled.deemed_rule)
    embargoed = [f"{c} ({role})" for role, c in dests if c in compiled.embargoed]
    shown = ", ".join(f"{c} ({role})" for role, c in dests) or "none"
    detail = f"embargoed: {', '.join(embargoed)}" if embargoed else f"destinations: {shown}"
    out.append(_row(EMBARGO, "no embargoed destination", FAIL if embargoed else PASS, detail))
    if model.tier is not None:
        q = compiled.qualification_of(entity, model.tier)
        for rule in compiled.qualification:
            if model.tier not in rule.tiers:
                continue
            for req in rule.requirements:
                ok = req not in q.missing
                has = entity.fact(req.fact)
                why = f"waived by designation under {q.waived_by}" if ok and q.waived_by == rule.id else f"has {_shown(has)}"
                out.append(
                    _row(qualification_id(rule.id, req), f"{req.label} ({test_text(req)})", PASS if ok else FAIL, why, [] if ok else [req.remedy.to_dict()])
                )
    ev = Evaluation(compiled, request, model, seg)
    ev.entity, ev.destinations = entity, dests
    checks, covering = authorization.evaluate(ev)
    text = "covered by an authorization in force"
    if covering is not None:
        out.append(_row(AUTHORIZED, text, PASS, f"covered by {covering.auth.id}"))
    else:
        lift = [{"code": "lift-suspension", "reason": c.suspension} for c in checks if c.suspension is not None and c.instant]
        misses = "; ".join(authorization.near_miss(c) for c in checks) or f"no authorization exists for {model.name}"
        out.append(_row(AUTHORIZED, text, FAIL, misses, [{"code": "apply-for-license"}, *lift]))
    return out


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
