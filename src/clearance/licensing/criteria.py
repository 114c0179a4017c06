"""The published criteria: what a licence requires, generated from the policy itself.

:func:`criteria` turns a compiled policy into a JSON document in the order the
core evaluates a request: restricted parties, control of the model, prohibited
use cases, embargoed destinations, qualification by tier, authorizations. Every
requirement carries a stable ``id`` that self-checks, assessments and denials
cite. Nothing here describes a particular regime: each sentence is assembled from
the bundle's own ids, labels, titles and numbers.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from ..core.index import CompiledPolicy
from ..core.instant import format_instant, instant_key
from ..core.model import DEEMED, LOCATION, Authorization, DestinationRule, Requirement
from .clocks import settings_of
from .transitions import TRANSITIONS

RESTRICTED = "restricted-party"
CONTROL = "model-not-suspended"
USE = "use-case-not-prohibited"
EMBARGO = "destination-not-embargoed"
AUTHORIZED = "authorization"


def qualification_id(rule: str, req: Requirement) -> str:
    return f"qualification:{rule}:{req.fact}"


def test_text(req: Requirement) -> str:
    if req.at_least is not None:
        value = int(req.at_least) if float(req.at_least).is_integer() else req.at_least
        return f"{req.fact} >= {value}"
    return f"{req.fact} = {_json(req.equals)}"


def _json(value: Any) -> str:
    return "true" if value is True else "false" if value is False else "null" if value is None else str(value)


def criteria(compiled: CompiledPolicy, at: int) -> dict[str, Any]:
    """The criteria in force at ``at`` (epoch nanoseconds), as a JSON-ready document."""
    p = compiled.policy
    settings = settings_of(p)
    embargo = sorted(compiled.embargoed)
    return {
        "policy": {
            "id": p.id,
            "title": p.title,
            "policy_version": compiled.version,
            "source": dict(p.meta).get("source", ""),
            "home_country": compiled.home,
            "deemed_export_rule": compiled.deemed_rule,
        },
        "at": format_instant(at),
        "requirements": _requirements(compiled),
        "tiers": _tiers(compiled, at),
        "use_cases": _use_cases(compiled, at),
        "destinations": {
            "embargo_groups": list(p.jurisdiction.embargo_groups),
            "embargoed": embargo,
            "groups": [
                {"id": g.id, "name": g.name, "countries": sorted(compiled.groups[g.id])} for g in p.country_groups
            ],
        },
        "authorizations": [_authorization(compiled, a, at) for a in p.authorizations],
        "licensing": {
            "clocks": settings.model_dump(mode="json"),
            "transitions": [
                {"action": t.action, "from": list(t.sources), "to": t.target, "by": t.party} for t in TRANSITIONS
            ],
        },
    }


def _requirements(compiled: CompiledPolicy) -> list[dict[str, Any]]:
    """Every requirement a request is held to, in the order of evaluation."""
    p = compiled.policy
    out: list[dict[str, Any]] = [
        {
            "id": RESTRICTED,
            "applies_to": "every model",
            "text": "the organization must not be a listed restricted party; a possible match waits for review",
            "listed": sorted(e.id for e in p.entities if e.restriction is not None),
            "remedies": [],
        },
        {
            "id": CONTROL,
            "applies_to": "controlled models",
            "text": "the model must not be suspended at the instant of use",
            "remedies": [],
        },
        {
            "id": USE,
            "applies_to": "controlled models",
            "text": "the use case must not be in a prohibited class: "
            + (", ".join(c.id for c in p.use_case_classes if c.prohibited) or "none"),
            "remedies": [],
        },
        {
            "id": EMBARGO,
            "applies_to": "controlled models",
            "text": "no user may be a deemed export to, or located in, an embargoed country: "
            + (", ".join(sorted(compiled.embargoed)) or "none"),
            "remedies": [],
        },
    ]
    for rule in p.qualification:
        for req in rule.requirements:
            out.append(
                {
                    "id": qualification_id(rule.id, req),
                    "applies_to": "controlled models of tier " + ", ".join(sorted(rule.tiers)),
                    "text": f"{req.label} ({test_text(req)})",
                    "rule": rule.id,
                    "waived_for": [_waiver(w.kinds, w.designations) for w in rule.waivers],
                    "remedies": [req.remedy.to_dict()],
                }
            )
    out.append(
        {
            "id": AUTHORIZED,
            "applies_to": "controlled models",
            "text": "an authorization in force must cover the model, the organization, every user's destinations "
            "by role, and the use case",
            "remedies": [{"code": "apply-for-license"}],
        }
    )
    return out


def _waiver(kinds: frozenset[str], designations: frozenset[str]) -> str:
    parts = []
    if kinds:
        parts.append("kind " + " or ".join(sorted(kinds)))
    if designations:
        parts.append("designated " + " or ".join(sorted(designations)))
    return " and ".join(parts) or "everyone"


def _tiers(compiled: CompiledPolicy, at: int) -> list[dict[str, Any]]:
    p = compiled.policy
    out = []
    for tier in p.tiering.tiers:
        models = []
        for m in p.models:
            idx = compiled.models[m.id]
            if idx.tier != tier:
                continue
            seg = idx.segments[bisect_right(idx.breaks, instant_key(at))]
            models.append(
                {
                    "id": m.id,
                    "name": m.name,
                    "developer": m.developer,
                    "tier_because": list(idx.tier_because),
                    "state": seg.state,
                    "state_rule": seg.rule,
                    "timeline": [
                        {"at": format_instant(c.at), "state": c.state, "rule": c.rule} for c in m.timeline
                    ],
                }
            )
        rules = [r for r in p.qualification if tier in r.tiers]
        out.append(
            {
                "tier": tier,
                "models": models,
                "requires": [qualification_id(r.id, q) for r in rules for q in r.requirements],
                "waivers": [_waiver(w.kinds, w.designations) for r in rules for w in r.waivers],
            }
        )
    return out


def _use_cases(compiled: CompiledPolicy, at: int) -> list[dict[str, Any]]:
    p = compiled.policy
    out = []
    for cls in p.use_case_classes:
        cases = []
        for uc in cls.use_cases:
            generic, named, per_entity = [], [], []
            for a in p.authorizations:
                rule = a.use_cases
                members = set(rule.use_cases).union(*(_members(compiled, c) for c in rule.classes))
                if uc in members:
                    generic.append(a.id)
                elif rule.entity_named:
                    named.append(a.id)
                for entity, ucs in rule.per_entity:
                    if uc in ucs:
                        per_entity.append(f"{a.id}:{entity}")
            cases.append(
                {
                    "id": uc,
                    "authorized_by": [] if cls.prohibited else generic,
                    "when_named_for_the_entity_by": [] if cls.prohibited else named,
                    "named_for": sorted(e.id for e in p.entities if uc in e.named_use_cases),
                    "per_entity": per_entity,
                }
            )
        out.append({"class": cls.id, "prohibited": cls.prohibited, "description": cls.description, "use_cases": cases})
    return out


def _members(compiled: CompiledPolicy, class_id: str) -> set[str]:
    for cls in compiled.policy.use_case_classes:
        if cls.id == class_id:
            return set(cls.use_cases)
    return set()


def destination_text(rule: DestinationRule) -> str:
    """How an authorization's destination rule for one role reads."""
    if rule.any:
        base = "any country"
    else:
        parts = [f"group {g}" for g in rule.groups] + sorted(rule.countries)
        base = ", ".join(parts) if parts else "none (home persons in the home country only)"
    if rule.except_groups:
        base += " except group " + ", ".join(rule.except_groups)
    return base


def _authorization(compiled: CompiledPolicy, a: Authorization, at: int) -> dict[str, Any]:
    p = compiled.policy
    cov = a.coverage
    covered = set(cov.entities)
    if cov.designations:
        covered.update(e.id for e in p.entities if e.designations & cov.designations)
    developers = sorted({m.developer for m in p.models if m.id in a.models and m.developer}) if cov.model_developer else []
    in_force = a.start <= at and (a.end is None or at <= a.end)
    uc = a.use_cases
    return {
        "id": a.id,
        "kind": a.kind,
        "title": a.title,
        "models": sorted(a.models),
        "valid_from": format_instant(a.start),
        "valid_until": None if a.end is None else format_instant(a.end),
        "in_force": in_force,
        "covers": {
            "entities": sorted(cov.entities),
            "designations": sorted(cov.designations),
            "model_developer": cov.model_developer,
            "resolved": sorted(covered | set(developers)),
        },
        "destinations": {
            role: {
                "text": destination_text(a.destination_rule(role)),
                "countries": sorted(_country_set(compiled, a.destination_rule(role))),
                "any": a.destination_rule(role).any,
                "except": sorted(
                    set().union(*(compiled.groups[g] for g in a.destination_rule(role).except_groups))
                ),
            }
            for role in (DEEMED, LOCATION)
        },
        "use_cases": {
            "use_cases": sorted(uc.use_cases),
            "classes": list(uc.classes),
            "entity_named": uc.entity_named,
            "per_entity": {k: sorted(v) for k, v in uc.per_entity},
        },
        "obligations": [o.to_dict() for o in a.obligations],
        "suspensions": [
            {
                "id": s.id,
                "entity": s.entity,
                "from": format_instant(s.start),
                "until": None if s.end is None else format_instant(s.end),
                "reason": s.reason,
                "in_force": s.start <= at and (s.end is None or at <= s.end),
            }
            for s in a.suspensions
        ],
    }


def _country_set(compiled: CompiledPolicy, rule: DestinationRule) -> set[str]:
    return set(rule.countries).union(*(compiled.groups[g] for g in rule.groups))
