"""Applications, pure: the automatic assessment, and one transition of the state machine.

Nothing here reads a clock or a store: ``now`` and the live policy are arguments,
and a transition returns the next version of the application record (and the
licence to issue, when it issues one). :mod:`.service` stores and audits them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..core.index import CompiledPolicy
from ..core.instant import format_instant, parse_instant
from ..core.model import DEEMED, LOCATION
from ..core.request import PersonRef
from ..core.steps.destinations import resolve
from ..policy.schema import ClauseSpec, LicensingSpec
from . import selfcheck
from .clocks import DAY, History, deadlines, lapsed
from .criteria import AUTHORIZED
from .record import ApplicationInput, ApplicationRecord, InputError, UserProfile
from .transitions import BY_ACTION, SAME

RECOMMEND = {"permitted": "no-licence-needed", "licence-needed": "approve", "not-possible": "deny", "review": "review"}


class TransitionRefused(InputError):
    """The action is not allowed now; ``status`` is 409 (wrong state, lapsed window) or 422 (bad input)."""

    def __init__(self, problems: list[str], status: int = 409) -> None:
        super().__init__(problems)
        self.status = status


def fingerprint(entity: str, models: list[str], use_cases: list[str], users: list[UserProfile]) -> str:
    """The identity of an application's request: the same for the same entity, models, use cases and users."""
    m, u, people = selfcheck.normalized(models, use_cases, users)
    doc = {"entity": entity, "models": m, "use_cases": u, "users": [list(p.key()) for p in people]}
    return "sha256:" + hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def assess(compiled: CompiledPolicy, app: ApplicationInput, at: int) -> dict[str, Any]:
    """The automatic pre-assessment: the self-check of the application as submitted.

    Deterministic: identical applications (in any order of their lists) under the
    same policy version and timeline segment get identical assessments.
    """
    if app.entity not in compiled.entities:
        raise InputError([f"entity: unknown entity `{app.entity}`; an application needs a registered entity"])
    found = selfcheck.problems(compiled, app.models, app.use_cases, app.users)
    if found:
        raise InputError(found)
    who = selfcheck.subject(compiled, app.entity)
    models, use_cases, users = selfcheck.normalized(app.models, app.use_cases, app.users)
    result = selfcheck.check(who, models, use_cases, users, at)
    return {
        "at": result["at"],
        "policy_version": result["policy_version"],
        "outcome": result["outcome"],
        "recommendation": RECOMMEND[result["outcome"]],
        "requirements": [
            {k: r[k] for k in ("id", "text", "status", "failing", "remedies")} for r in result["requirements"]
        ],
        "cells": [
            {k: c[k] for k in ("model", "use_case", "user", "destinations", "outcome", "code", "authorization", "remedies")}
            for c in result["cells"]
        ],
    }


def submit(compiled: CompiledPolicy, app: ApplicationInput, actor: str, now: int) -> dict[str, Any]:
    """The first version of an application record."""
    at = format_instant(now)
    assessment = assess(compiled, app, now)
    body = {
        **app.model_dump(mode="json"),
        "state": "submitted",
        "submitted": at,
        "reviewer": None,
        "fingerprint": fingerprint(app.entity, app.models, app.use_cases, app.users),
        "assessment": assessment,
        "events": [{"at": at, "action": "submit", "actor": actor, "state": "submitted", "note": "", "details": {}}],
        "conditions": [],
        "licence": None,
        "basis": None,
    }
    ApplicationRecord.model_validate(body)
    return body


def history(body: dict[str, Any]) -> History:
    """``(instant, state entered)`` of every change of state, for the clocks."""
    out: History = []
    for event in body["events"]:
        at = int(parse_instant(event["at"]))
        if not out or out[-1][1] != event["state"]:
            out.append((at, event["state"]))
    return out


@dataclass(frozen=True)
class Outcome:
    """A transition's result: the next version, and a licence to issue (``(key, body)``) or ``None``."""

    body: dict[str, Any]
    licence: tuple[str, dict[str, Any]] | None


def transition(
    compiled: CompiledPolicy,
    settings: LicensingSpec,
    app_id: str,
    body: dict[str, Any],
    action: str,
    actor: str,
    now: int,
    params: dict[str, Any] | None = None,
) -> Outcome:
    """Apply ``action`` to the current version ``body``; raise :class:`TransitionRefused` if not allowed.

    ``params``: ``note`` (any action), ``reviewer`` (assign), ``conditions``
    (approve, reverse: obligations of the licence; default the bundle's),
    ``criteria`` (intend-to-deny, deny, uphold: requirement ids not met; default
    those the assessment found failing).
    """
    params = dict(params or {})
    t = BY_ACTION.get(action)
    if t is None:
        raise TransitionRefused([f"action: `{action}` is not one of {', '.join(BY_ACTION)}"], 422)
    state = body["state"]
    if state not in t.sources:
        raise TransitionRefused([f"action: `{action}` is not allowed in state `{state}` (allowed in {', '.join(t.sources)})"])
    allowed = {"note", "reviewer", "conditions", "criteria"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise TransitionRefused([f"{k}: unknown field" for k in unknown], 422)
    note = params.get("note") or ""
    if not isinstance(note, str):
        raise TransitionRefused(["note: must be a string"], 422)
    past = history(body)
    if now < past[-1][0]:
        raise TransitionRefused([f"at: {format_instant(now)} is before the last change ({format_instant(past[-1][0])})"])
    _guard(action, body, past, settings, now)
    new = json.loads(json.dumps(body))
    target = state if t.target == SAME else t.target
    details: dict[str, Any] = {}
    licence = None
    if action == "assign":
        reviewer = params.get("reviewer")
        if not isinstance(reviewer, str) or not reviewer:
            raise TransitionRefused(["reviewer: missing (a non-empty string)"], 422)
        new["reviewer"] = details["reviewer"] = reviewer
    elif action in ("approve", "reverse"):
        conditions = _conditions(params.get("conditions"), settings)
        key = licence_key(app_id)
        licence = (key, licence_body(compiled, settings, app_id, body, conditions, now))
        new["conditions"], new["licence"], new["basis"] = conditions, key, None
        details = {"licence": key, "conditions": conditions}
    elif action in ("intend-to-deny", "deny", "uphold"):
        new["basis"] = details["basis"] = basis(body, params.get("criteria"), compiled)
    new["state"] = target
    new["events"].append({"at": format_instant(now), "action": action, "actor": actor, "state": target, "note": note, "details": details})
    ApplicationRecord.model_validate(new)
    return Outcome(new, licence)


def _guard(action: str, body: dict[str, Any], past: History, settings: LicensingSpec, now: int) -> None:
    state = body["state"]
    if action == "appeal" and lapsed(past, settings, now, "appeal-window"):
        raise TransitionRefused([f"action: the {settings.appeal_window_days}-day appeal window has closed; the denial is final"])
    if action == "respond" and state == "intent-to-deny" and lapsed(past, settings, now, "applicant-response"):
        raise TransitionRefused([f"action: the {settings.response_days}-day window to answer the intent to deny has closed"])
    if action == "deny":
        # 750.6: a denial follows an intent-to-deny notice and the applicant's chance to answer it.
        if state == "under-review" and "intent-to-deny" not in {s for _, s in past}:
            raise TransitionRefused(["action: a denial needs an intent-to-deny notice first"])
        if state == "intent-to-deny" and not lapsed(past, settings, now, "applicant-response"):
            raise TransitionRefused(
                [f"action: the applicant has {settings.response_days} days to answer the intent to deny; deny after it closes"]
            )


def _conditions(given: Any, settings: LicensingSpec) -> list[dict[str, Any]]:
    if given is None:
        return [c.model_dump(mode="json") for c in settings.default_conditions]
    if not isinstance(given, list):
        raise TransitionRefused(["conditions: must be a list of {code: ...} objects"], 422)
    out = []
    for i, c in enumerate(given):
        try:
            out.append(ClauseSpec.model_validate(c).model_dump(mode="json"))
        except Exception:  # noqa: BLE001 - any validation failure is the caller's input
            raise TransitionRefused([f"conditions[{i}]: must be an object with a `code` id"], 422) from None
    return out


def basis(body: dict[str, Any], given: Any, compiled: CompiledPolicy) -> dict[str, Any]:
    """What a denial cites: the requirements not met and what would change the outcome."""
    assessed = {r["id"]: r for r in body["assessment"]["requirements"]}
    known = {r["id"] for r in body["assessment"]["requirements"]}
    if given is None:
        ids = [r["id"] for r in body["assessment"]["requirements"] if r["status"] in ("fail", "review")]
    else:
        if not isinstance(given, list) or not all(isinstance(g, str) for g in given):
            raise TransitionRefused(["criteria: must be a list of requirement ids"], 422)
        bad = [f"criteria[{i}]: `{g}` is not a requirement of this application ({', '.join(sorted(known))})" for i, g in enumerate(given) if g not in known]
        if bad:
            raise TransitionRefused(bad, 422)
        ids = list(dict.fromkeys(given))
    if not ids:
        raise TransitionRefused(["criteria: the assessment found every requirement met; name the requirements not met"], 422)
    cited = []
    for rid in ids:
        r = assessed[rid]
        remedies = r["remedies"] or ([{"code": "apply-for-license"}] if rid == AUTHORIZED else [])
        cited.append({"id": rid, "text": r["text"], "assessed": r["status"], "remedies": remedies})
    changes = [rem for c in cited for rem in c["remedies"]]
    return {"criteria": cited, "would_change": list({json.dumps(c, sort_keys=True): c for c in changes}.values()), "policy_version": compiled.version}


def licence_key(app_id: str) -> str:
    return f"LIC-{app_id}"


def licence_body(
    compiled: CompiledPolicy, settings: LicensingSpec, app_id: str, body: dict[str, Any], conditions: list[dict[str, Any]], now: int
) -> dict[str, Any]:
    """An individual licence for exactly the application's scope (750.7(a)(1)): its entity, models,
    use cases, and the destinations of the users it named, by role."""
    deemed: set[str] = set()
    located: set[str] = set()
    for raw in body["users"]:
        user = UserProfile.model_validate(raw)
        person = PersonRef(None, tuple(user.citizenships), user.permanent_residency, user.deemed_country, user.location)
        for role, country in resolve(person, compiled.home, compiled.deemed_rule)[0]:
            # An embargoed destination is denied before any authorization is read: naming it would mislead.
            if country not in compiled.embargoed:
                (deemed if role == DEEMED else located).add(country)
    return {
        "kind": "individual-licence",
        "title": f"Licence for {', '.join(sorted(set(body['models'])))} to {body['entity']} (application {app_id})",
        "models": sorted(set(body["models"])),
        "valid": {"from": format_instant(now), "until": format_instant(now + settings.licence_validity_days * DAY)},
        "covers": {"entities": [body["entity"]]},
        "destinations": {DEEMED: {"countries": sorted(deemed)}, LOCATION: {"countries": sorted(located)}},
        "use_cases": {"use_cases": sorted(set(body["use_cases"]))},
        "obligations": conditions,
    }


def clocks(body: dict[str, Any], settings: LicensingSpec, now: int) -> list[dict[str, Any]]:
    return [d.to_dict() for d in deadlines(history(body), settings, now)]
