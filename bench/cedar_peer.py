"""The same access rules in Cedar (through ``cedarpy``), as a peer for the benchmark.

Why: a throughput figure means little without a reference point, and Cedar is
the obvious one: a purpose-built, Rust-implemented authorization engine. Two
engines that disagree would also make the comparison meaningless, so the
benchmark checks the outcome of every request against clearance's.

The translation reads any :class:`~clearance.core.index.CompiledPolicy`
generically (its :class:`~clearance.core.model.Policy`; only each model's tier
is taken from the compiled index, since turning evaluation evidence into a tier
is a classification done once, not a per-request rule). Nothing about the
example world is written here. Cedar answers allow/deny only, so ``review``
(a possible restricted-party match) is a deny for it.

Layout of the translation:

* Entities (data). ``Org`` (an entity of the bundle: ``kind``, ``facts`` with
  numbers under ``num`` as fixed point x 10^4 since Cedar has no floats,
  ``named_use_cases``; parents are its ``Designation`` s), ``Person`` (only
  restricted ones), ``UseCase`` (``prohibited``; parent its ``UseCaseClass``),
  ``Model`` (``tier``, ``developer``; parents the ``Authz`` s that name it),
  ``Authz`` (coverage sets, destination sets by role, use-case scope and the
  per-entity use cases) and one ``Jurisdiction`` (the embargoed countries).
  Country groups are resolved into sets here, because Cedar has no set union.
* Policies (logic). Step 1-2 forbids (invalid request, unknown ids, restricted
  parties); for each model, one policy per interval of its control timeline
  (not controlled: permit; suspended: forbid; controlled: forbid when the use
  case is prohibited, a destination is embargoed or the entity is unqualified,
  the qualification rules being written out as expressions over the facts);
  one permit per authorization (validity, employment, coverage, every
  destination by role, use case) with its suspensions in ``unless``.
* Requests. Principal ``Org``, action, resource ``Model``; the context holds
  the instant, the destinations by role (computed from the person as the
  contract's deemed-export rules say, independently of clearance's code), the
  use case, the employer and the person. No rule outcome is computed here.

Instants are on clearance's doubled nanosecond scale (``2*ns``, plus one for a
sub-nanosecond remainder) so that inclusive ends and ``Fraction`` instants are
exact; twice the nanoseconds since 1970 fits in a Cedar long (signed 64-bit)
until the year 2116.
"""

from __future__ import annotations

import json
from typing import Any

import cedarpy

from clearance.core.index import CompiledPolicy
from clearance.core.model import DEEMED, LOCATION, NOT_CONTROLLED, SUSPENDED, Policy, Requirement
from clearance.core.request import Request

FP = 10_000  # fixed-point scale for numeric facts


def _s(text: str) -> str:
    """A Cedar string literal."""
    return json.dumps(text, ensure_ascii=False)


def _uid(kind: str, ident: str) -> dict[str, Any]:
    return {"__entity": {"type": kind, "id": ident}}


def _groups(policy: Policy) -> dict[str, frozenset[str]]:
    by_id, out = {g.id: g for g in policy.country_groups}, {}

    def resolve(gid: str) -> frozenset[str]:
        if gid not in out:
            g = by_id[gid]
            out[gid] = frozenset(g.countries).union(*(resolve(i) for i in g.includes))
        return out[gid]

    for gid in by_id:
        resolve(gid)
    return out


def _fp(value: float) -> int:
    return round(value * FP)


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- entities -----------------------------------------------------------------


def entities(compiled: CompiledPolicy) -> list[dict[str, Any]]:
    policy = compiled.policy
    groups = _groups(policy)
    out: list[dict[str, Any]] = []

    def add(kind: str, ident: str, attrs: dict[str, Any] | None = None, parents: list[tuple[str, str]] = ()) -> None:
        out.append(
            {
                "uid": {"type": kind, "id": ident},
                "attrs": attrs or {},
                "parents": [{"type": t, "id": i} for t, i in parents],
            }
        )

    embargoed = frozenset().union(*(groups[g] for g in policy.jurisdiction.embargo_groups))
    add("Jurisdiction", policy.id, {"embargoed": sorted(embargoed)})
    designations = {d for e in policy.entities for d in e.designations}
    designations |= {d for a in policy.authorizations for d in a.coverage.designations}
    for d in sorted(designations):
        add("Designation", d)
    for e in policy.entities:
        facts = {k: v for k, v in e.facts if isinstance(v, (bool, str))}
        num = {k: _fp(v) for k, v in e.facts if _is_num(v)}
        attrs = {
            "known": True,
            "kind": e.kind,
            "facts": facts,
            "num": num,
            "named_use_cases": [_uid("UseCase", u) for u in sorted(e.named_use_cases)],
        }
        if e.restriction is not None:
            attrs["restricted"] = e.restriction.status
        add("Org", e.id, attrs, [("Designation", d) for d in sorted(e.designations)])
    for p in policy.persons:
        if p.restriction is not None:
            add("Person", p.id, {"restricted": p.restriction.status})
    for cls in policy.use_case_classes:
        add("UseCaseClass", cls.id)
        for uc in cls.use_cases:
            add("UseCase", uc, {"known": True, "prohibited": cls.prohibited}, [("UseCaseClass", cls.id)])
    for m in policy.models:
        attrs = {"known": True}
        tier = compiled.models[m.id].tier
        if tier is not None:
            attrs["tier"] = tier
        if m.developer is not None:
            attrs["developer"] = _uid("Org", m.developer)
        parents = [("Authz", a.id) for a in policy.authorizations if m.id in a.models]
        add("Model", m.id, attrs, parents)
    for a in policy.authorizations:
        cov, uc = a.coverage, a.use_cases
        attrs: dict[str, Any] = {
            "covers": [_uid("Org", i) for i in sorted(cov.entities)]
            + [_uid("Designation", d) for d in sorted(cov.designations)],
            "model_developer": cov.model_developer,
            "use_cases": [_uid("UseCase", u) for u in sorted(uc.use_cases)]
            + [_uid("UseCaseClass", c) for c in uc.classes],
            "entity_named": uc.entity_named,
            "per_entity": [
                {"org": _uid("Org", org), "uc": _uid("UseCase", u)} for org, ucs in uc.per_entity for u in sorted(ucs)
            ],
        }
        for role in (DEEMED, LOCATION):
            rule = a.destination_rule(role)
            attrs[f"{role}_any"] = rule.any
            attrs[f"{role}_allowed"] = sorted(rule.countries.union(*(groups[g] for g in rule.groups)))
            attrs[f"{role}_excluded"] = sorted(frozenset().union(*(groups[g] for g in rule.except_groups)))
        add("Authz", a.id, attrs)
    return out


# -- policies -----------------------------------------------------------------

STEPS_1_2 = """\
@id("invalid-request") forbid (principal, action, resource) unless { context.valid };
@id("unknown-id") forbid (principal, action, resource)
  unless { principal has known && resource has known && context.use_case has known };
@id("restricted-entity") forbid (principal, action, resource) when { principal has restricted };
@id("restricted-person") forbid (principal, action, resource)
  when { context has person && context.person has restricted };
"""


def _between(lo: int | None, hi: int | None) -> str:
    """``context.at`` within [lo, hi) on the doubled scale; ``None`` is open."""
    parts = ([f"context.at >= {lo}"] if lo is not None else []) + ([f"context.at < {hi}"] if hi is not None else [])
    return " && ".join(parts) or "true"


def _requirement(r: Requirement) -> str:
    f = _s(r.fact)
    if r.at_least is not None:
        return f"(principal.num has {f} && principal.num[{f}] >= {_fp(r.at_least)})"
    if r.equals is None:
        return f"!(principal.facts has {f} || principal.num has {f})"
    if isinstance(r.equals, bool):
        return f"(principal.facts has {f} && principal.facts[{f}] == {'true' if r.equals else 'false'})"
    if isinstance(r.equals, str):
        return f"(principal.facts has {f} && principal.facts[{f}] == {_s(r.equals)})"
    if _is_num(r.equals):
        return f"(principal.num has {f} && principal.num[{f}] == {_fp(r.equals)})"
    return "false"


def _unqualified(policy: Policy) -> str:
    """True when some qualification rule applies to the model's tier, is not waived, and a requirement is unmet."""
    terms = []
    for q in policy.qualification:
        tiers = ", ".join(_s(t) for t in sorted(q.tiers))
        waivers = []
        for w in q.waivers:
            parts = []
            if w.kinds:
                parts.append(f"[{', '.join(_s(k) for k in sorted(w.kinds))}].contains(principal.kind)")
            if w.designations:
                parts.append(f"principal in [{', '.join(f'Designation::{_s(d)}' for d in sorted(w.designations))}]")
            waivers.append(" && ".join(parts) or "true")
        met = " && ".join(_requirement(r) for r in q.requirements) or "true"
        waived = " || ".join(f"({w})" for w in waivers) or "false"
        terms.append(f"(resource has tier && [{tiers}].contains(resource.tier) && !({waived}) && !({met}))")
    return " || ".join(terms) or "false"


def _intervals(model) -> list[tuple[int | None, int | None, str]]:
    """The model's control states as [from, until) intervals, on the doubled scale; the last change at an instant wins."""
    changes: list[tuple[int, str]] = []
    for c in sorted(model.timeline, key=lambda c: c.at):
        if changes and changes[-1][0] == c.at:
            changes[-1] = (c.at, c.state)
        else:
            changes.append((c.at, c.state))
    cuts = [(None, NOT_CONTROLLED)] + [(2 * at, state) for at, state in changes]
    out: list[tuple[int | None, int | None, str]] = []
    for i, (lo, state) in enumerate(cuts):
        hi = cuts[i + 1][0] if i + 1 < len(cuts) else None
        if out and out[-1][2] == state:
            out[-1] = (out[-1][0], hi, state)
        else:
            out.append((lo, hi, state))
    return out


def _authorization(a) -> str:
    A = f"Authz::{_s(a.id)}"
    when = [f"context.at >= {2 * a.start}"] + ([f"context.at <= {2 * a.end}"] if a.end is not None else [])
    when += [
        "context.employer == principal",
        f"(principal in {A}.covers || ({A}.model_developer && resource has developer && resource.developer == principal))",
    ]
    for role in (DEEMED, LOCATION):
        when.append(f"({A}.{role}_any || {A}.{role}_allowed.containsAll(context.{role}))")
        when.append(f"!context.{role}.containsAny({A}.{role}_excluded)")
    when.append(
        f"(context.use_case in {A}.use_cases || ({A}.entity_named && principal.named_use_cases.contains(context.use_case))"
        f" || {A}.per_entity.contains({{org: principal, uc: context.use_case}}))"
    )
    text = (
        f"@id({_s('auth:' + a.id)})\npermit (principal, action, resource in {A})\n  when {{\n    "
        + "\n    && ".join(when)
        + "\n  }"
    )
    suspended = []
    for s in a.suspensions:
        parts = ([f"principal == Org::{_s(s.entity)}"] if s.entity is not None else []) + [
            f"context.at >= {2 * s.start}"
        ]
        if s.end is not None:
            parts.append(f"context.at <= {2 * s.end}")
        suspended.append("(" + " && ".join(parts) + ")")
    if suspended:
        text += "\n  unless { " + " || ".join(suspended) + " }"
    return text + ";"


def policies(compiled: CompiledPolicy) -> str:
    policy = compiled.policy
    J = f"Jurisdiction::{_s(policy.id)}"
    gate = (
        f"context.use_case.prohibited || context.deemed.containsAny({J}.embargoed)"
        f" || context.location.containsAny({J}.embargoed) || {_unqualified(policy)}"
    )
    out = [STEPS_1_2]
    for m in policy.models:
        M = f"Model::{_s(m.id)}"
        for i, (lo, hi, state) in enumerate(_intervals(m)):
            pid = _s(f"control:{m.id}:{i}:{state}")
            scope = f"(principal, action, resource == {M})"
            if state == NOT_CONTROLLED:
                out.append(f"@id({pid}) permit {scope} when {{ {_between(lo, hi)} }};")
            elif state == SUSPENDED:
                out.append(f"@id({pid}) forbid {scope} when {{ {_between(lo, hi)} }};")
            else:
                out.append(f"@id({pid}) forbid {scope}\n  when {{ {_between(lo, hi)} && ({gate}) }};")
    out.extend(_authorization(a) for a in policy.authorizations)
    return "\n".join(out) + "\n"


# -- requests -----------------------------------------------------------------


class CedarPeer:
    """A compiled policy translated to Cedar, parsed once into reusable cedarpy handles."""

    def __init__(self, compiled: CompiledPolicy) -> None:
        policy = compiled.policy
        self.home = policy.jurisdiction.country
        self.rule = policy.jurisdiction.deemed_rule
        self.policy_text = policies(compiled)
        self.entities_json = json.dumps(entities(compiled))
        self.policies = cedarpy.PolicySet.from_str(self.policy_text)
        self.entities = cedarpy.Entities.from_json_str(self.entities_json)

    def destinations(self, req: Request) -> tuple[bool, list[str], list[str]]:
        """(valid, deemed, location) by the contract's deemed-export rules, written afresh from the contract."""
        p, home = req.person, self.home
        location = [p.location] if p.location != home else []
        if home in p.citizenships or p.permanent_residency == home:
            return True, [], location
        if p.deemed_country == home:
            return False, [], []
        if self.rule == "all":
            deemed = list(
                dict.fromkeys(
                    [
                        *p.citizenships,
                        *([p.permanent_residency] if p.permanent_residency else []),
                        *([p.deemed_country] if p.deemed_country else []),
                    ]
                )
            )
        else:
            first = p.deemed_country or p.permanent_residency or (p.citizenships[-1] if p.citizenships else None)
            deemed = [first] if first else []
        return bool(deemed), deemed, location

    def request(self, req: Request) -> dict[str, Any]:
        """The Cedar request; the context is pre-serialized (cedarpy would ``json.dumps`` a dict on every call)."""
        valid, deemed, location = self.destinations(req)
        at = req.at
        key = 2 * at if isinstance(at, int) else 2 * int(at // 1) + (0 if at == int(at // 1) else 1)
        ctx: dict[str, Any] = {
            "at": key,
            "valid": valid,
            "deemed": deemed,
            "location": location,
            "use_case": _uid("UseCase", req.use_case),
            "employer": _uid("Org", req.person.employer or req.entity),
        }
        if req.person.id is not None:
            ctx["person"] = _uid("Person", req.person.id)
        return {
            "principal": {"type": "Org", "id": req.entity},
            "action": {"type": "Action", "id": req.action},
            "resource": {"type": "Model", "id": req.model},
            "context": json.dumps(ctx),
        }

    def allowed(self, cedar_request: dict[str, Any]) -> bool:
        return cedarpy.is_authorized(cedar_request, self.policies, self.entities).allowed

    def allowed_batch(self, cedar_requests: list[dict[str, Any]], chunk: int = 10_000) -> list[bool]:
        out: list[bool] = []
        for i in range(0, len(cedar_requests), chunk):
            out.extend(
                r.allowed
                for r in cedarpy.is_authorized_batch(cedar_requests[i : i + chunk], self.policies, self.entities)
            )
        return out

    def errors(self, cedar_request: dict[str, Any]) -> list[Any]:
        """Evaluation errors of one request (for diagnosing a disagreement)."""
        return cedarpy.is_authorized(cedar_request, self.policies, self.entities).diagnostics.errors
