"""Turning checked bundle sections into the core's frozen :class:`Policy`.

Directive effects are merged into the models' control timelines here, and
every collection is ordered by id, so the policy (and its hash) does not depend
on how the bundle was split into files or in what order items were written.
"""

from __future__ import annotations

from typing import Any

from ..core.model import (
    Authorization,
    Clause,
    ControlChange,
    CountryGroup,
    Coverage,
    DestinationRule,
    Directive,
    Entity,
    Jurisdiction,
    Model,
    Person,
    Policy,
    QualificationRule,
    Requirement,
    Restriction,
    Suspension,
    UseCaseClass,
    UseCaseRule,
    Waiver,
)
from .check import tiering_of
from .load import Sections


def build_policy(sections: Sections) -> Policy:
    lists = sections.lists
    info = sections.single["policy"].spec
    j = sections.single["jurisdiction"].spec
    directives = sorted((i.spec for i in lists["directives"]), key=lambda d: (d.at, d.id))
    return Policy(
        id=info.id,
        title=info.title,
        jurisdiction=Jurisdiction(j.country, tuple(j.embargo_groups), j.deemed_export),
        tiering=tiering_of(sections.single["tiering"]),
        models=_by_id(_model(i.spec, directives) for i in lists["models"]),
        use_case_classes=_by_id(
            UseCaseClass(c.id, c.prohibited, tuple(c.use_cases), c.description) for c in _specs(lists, "use_case_classes")
        ),
        country_groups=_by_id(
            CountryGroup(g.id, g.name, frozenset(g.countries), tuple(g.includes)) for g in _specs(lists, "country_groups")
        ),
        entities=_by_id(_entity(e) for e in _specs(lists, "entities")),
        authorizations=_by_id(_authorization(a) for a in _specs(lists, "authorizations")),
        qualification=_by_id(_qualification(q) for q in _specs(lists, "qualification")),
        directives=tuple(
            Directive(d.id, d.at, d.title, tuple((e.model, e.state) for e in d.effects)) for d in directives
        ),
        persons=_by_id(Person(p.id, _restriction(p.restriction)) for p in _specs(lists, "persons")),
        meta=(("description", info.description), ("source", info.source), *_licensing(sections), *_screening(sections),
              *_guardrails(sections)),
    )


def _licensing(sections: Sections) -> tuple[tuple[str, Any], ...]:
    # Only a bundle that states its licensing clocks carries them, so bundles without
    # the section keep their policy_version; the defaults live with the licensing code.
    item = sections.single.get("licensing")
    return () if item is None else (("licensing", _frozen(item.spec.model_dump(mode="json"))),)


def _screening(sections: Sections) -> tuple[tuple[str, Any], ...]:
    # Thresholds change which parties are flagged, so they are part of the policy_version;
    # only a bundle that states them carries them (the defaults live with the screening code).
    item = sections.single.get("screening")
    return () if item is None else (("screening", _frozen(item.spec.model_dump(mode="json"))),)


def _guardrails(sections: Sections) -> tuple[tuple[str, Any], ...]:
    # The gateway's guard rules change which calls are forwarded, so they are part of the
    # policy_version; a bundle without the section keeps its version (no guard acts).
    item = sections.single.get("guardrails")
    return () if item is None else (("guardrails", _frozen(item.spec.model_dump(mode="json", by_alias=True))),)


def _frozen(value: Any) -> Any:
    # Policy is a frozen, hashable value: mappings become sorted pairs, lists tuples.
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _specs(lists: dict[str, list[Any]], name: str) -> list[Any]:
    return [item.spec for item in lists[name]]


def _by_id(items: Any) -> tuple[Any, ...]:
    return tuple(sorted(items, key=lambda x: x.id))


def clause(spec: Any) -> Clause:
    params = {k: v for k, v in spec.model_dump().items() if k != "code"}
    return Clause(spec.code, tuple(sorted(params.items())))


def _model(m: Any, directives: list[Any]) -> Model:
    changes = [ControlChange(c.at, c.state, c.id, c.note) for c in m.controls]
    for d in directives:
        for effect in d.effects:
            if effect.model == m.id:
                changes.append(ControlChange(d.at, effect.state, d.id, d.title))
    changes.sort(key=lambda c: c.at)
    return Model(m.id, m.name or m.id, m.developer, m.tier, m.evidence, tuple(changes))


def _restriction(r: Any) -> Restriction | None:
    return None if r is None else Restriction(r.status, r.list, r.reference, r.reason)


def _entity(e: Any) -> Entity:
    return Entity(
        id=e.id,
        name=e.name or e.id,
        country=e.country,
        kind=e.kind,
        designations=frozenset(e.designations),
        facts=tuple(sorted(e.facts.items())),
        named_use_cases=frozenset(e.named_use_cases),
        restriction=_restriction(e.restriction),
    )


def _rule(r: Any) -> DestinationRule:
    return DestinationRule(r.any, tuple(r.groups), frozenset(r.countries), tuple(r.except_groups))


def _authorization(a: Any) -> Authorization:
    uc = a.use_cases
    return Authorization(
        id=a.id,
        kind=a.kind,
        title=a.title,
        models=frozenset(a.models),
        start=a.valid.from_,
        end=a.valid.until,
        coverage=Coverage(frozenset(a.covers.entities), frozenset(a.covers.designations), a.covers.model_developer),
        destinations=(("deemed", _rule(a.destinations.deemed)), ("location", _rule(a.destinations.location))),
        use_cases=UseCaseRule(
            frozenset(uc.use_cases),
            tuple(uc.classes),
            uc.entity_named,
            tuple(sorted((k, frozenset(v)) for k, v in uc.per_entity.items())),
        ),
        obligations=tuple(clause(o) for o in a.obligations),
        suspensions=tuple(Suspension(s.id, s.entity, s.from_, s.until, s.reason) for s in a.suspensions),
        message=a.message,
    )


def _qualification(q: Any) -> QualificationRule:
    return QualificationRule(
        id=q.id,
        tiers=frozenset(q.tiers),
        requirements=tuple(
            Requirement(r.fact, r.label or r.fact, clause(r.remedy), r.at_least, r.equals) for r in q.requirements
        ),
        waivers=tuple(Waiver(frozenset(w.kinds), frozenset(w.designations)) for w in q.waivers),
    )
