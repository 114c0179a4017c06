"""The compiled policy: indexes built once so each decision is a few lookups.

Every model's timeline is cut at each instant where anything about it changes
(its control state, an authorization's validity, a suspension). Between two
cuts nothing changes, so a request's instant only selects a *segment*
(``bisect_right`` on the doubled-scale keys of :mod:`.instant`), and each
segment holds the state and the authorizations as they stand there.

Identical requests in the same segment get the same verdict, and so do requests
whose facts agree (same model, segment, entity, use case, employment and
destinations by role). The index keeps a bounded memo of verdicts under both
keys. The memo never changes an answer: ``decide_uncached`` evaluates the same
rules without it, and the tests check that both agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .instant import end_key, start_key
from .model import (
    DEEMED,
    LOCATION,
    NOT_CONTROLLED,
    Authorization,
    DestinationRule,
    Entity,
    Policy,
    QualificationRule,
    Requirement,
    Restriction,
)
from .tiers import tier_from_evidence

MEMO_LIMIT = 1 << 18


@dataclass(frozen=True, slots=True)
class CountrySet:
    """A compiled :class:`DestinationRule`: membership in one set operation or two."""

    any: bool
    allowed: frozenset[str]
    excluded: frozenset[str]

    def __contains__(self, country: object) -> bool:
        return (self.any or country in self.allowed) and country not in self.excluded


@dataclass(frozen=True, slots=True)
class AuthorizationSlice:
    """One authorization of one model, as it stands within one segment."""

    auth: Authorization
    valid: bool
    covered: frozenset[str]
    suspended: tuple[tuple[str | None, str], ...]
    deemed: CountrySet
    location: CountrySet
    use_cases: frozenset[str]
    entity_named: bool
    per_entity: dict[str, frozenset[str]]

    def suspension_for(self, entity: str) -> str | None:
        for who, reason in self.suspended:
            if who is None or who == entity:
                return reason
        return None


@dataclass(frozen=True, slots=True)
class Segment:
    state: str
    rule: str
    note: str
    auths: tuple[AuthorizationSlice, ...]


@dataclass(slots=True)
class ModelIndex:
    id: str
    name: str
    tier: str | None
    tier_because: tuple[str, ...]
    breaks: list[int]
    segments: list[Segment]


@dataclass(frozen=True, slots=True)
class Qualification:
    """How an entity fares against the qualification rules of one tier."""

    rules: tuple[str, ...]
    missing: tuple[Requirement, ...]
    waived_by: str | None


@dataclass(slots=True)
class CompiledPolicy:
    """A policy ready for ``decide()``, with its ``version`` (content hash)."""

    policy: Policy
    version: str
    models: dict[str, ModelIndex]
    entities: dict[str, Entity]
    use_cases: dict[str, tuple[str, bool]]
    groups: dict[str, frozenset[str]]
    embargoed: frozenset[str]
    embargo_rule: str
    home: str
    deemed_rule: str
    restricted_persons: dict[str, Restriction]
    qualification: tuple[QualificationRule, ...]
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)
    _qualified: dict[tuple[str, str], Qualification] = field(default_factory=dict, repr=False)

    def qualification_of(self, entity: Entity, tier: str) -> Qualification:
        key = (entity.id, tier)
        found = self._qualified.get(key)
        if found is None:
            found = _qualify(entity, tier, self.qualification)
            self._qualified[key] = found
        return found

    def remember(self, key: Any, verdict: Any) -> None:
        if len(self.memo) >= MEMO_LIMIT:
            self.memo.clear()
        self.memo[key] = verdict


def compile_policy(policy: Policy, version: str) -> CompiledPolicy:
    """Build the indexes of ``policy``. The policy must already be validated."""
    groups = resolve_groups(policy)
    models = {m.id: _index_model(policy, m.id, groups) for m in policy.models}
    use_cases: dict[str, tuple[str, bool]] = {}
    for cls in policy.use_case_classes:
        for uc in cls.use_cases:
            use_cases[uc] = (cls.id, cls.prohibited)
    embargo_groups = policy.jurisdiction.embargo_groups
    embargoed = frozenset().union(*(groups[g] for g in embargo_groups)) if embargo_groups else frozenset()
    return CompiledPolicy(
        policy=policy,
        version=version,
        models=models,
        entities={e.id: e for e in policy.entities},
        use_cases=use_cases,
        groups=groups,
        embargoed=embargoed,
        embargo_rule=",".join(embargo_groups),
        home=policy.jurisdiction.country,
        deemed_rule=policy.jurisdiction.deemed_rule,
        restricted_persons={p.id: p.restriction for p in policy.persons if p.restriction},
        qualification=policy.qualification,
    )


def resolve_groups(policy: Policy) -> dict[str, frozenset[str]]:
    """Each country group with the groups it includes merged in (cycles already rejected)."""
    by_id = {g.id: g for g in policy.country_groups}
    resolved: dict[str, frozenset[str]] = {}

    def resolve(gid: str) -> frozenset[str]:
        if gid not in resolved:
            g = by_id[gid]
            resolved[gid] = g.countries.union(*(resolve(i) for i in g.includes))
        return resolved[gid]

    for gid in by_id:
        resolve(gid)
    return resolved


def _country_set(rule: DestinationRule, groups: dict[str, frozenset[str]]) -> CountrySet:
    allowed = rule.countries.union(*(groups[g] for g in rule.groups))
    excluded = frozenset().union(*(groups[g] for g in rule.except_groups))
    return CountrySet(rule.any, allowed, excluded)


def _covered_entities(policy: Policy, auth: Authorization, developer: str | None) -> frozenset[str]:
    cov = auth.coverage
    ids = set(cov.entities)
    if cov.designations:
        ids.update(e.id for e in policy.entities if e.designations & cov.designations)
    if cov.model_developer and developer:
        ids.add(developer)
    return frozenset(ids)


def _index_model(policy: Policy, model_id: str, groups: dict[str, frozenset[str]]) -> ModelIndex:
    model = next(m for m in policy.models if m.id == model_id)
    if model.tier is not None:
        tier, because = model.tier, ("declared",)
    elif model.evidence is not None:
        finding = tier_from_evidence(model.evidence, policy.tiering)
        tier, because = finding.tier, finding.because
    else:
        tier, because = None, ()
    auths = sorted((a for a in policy.authorizations if model_id in a.models), key=lambda a: a.id)
    cuts = {start_key(c.at) for c in model.timeline}
    for a in auths:
        cuts.add(start_key(a.start))
        if a.end is not None:
            cuts.add(end_key(a.end))
        for s in a.suspensions:
            cuts.add(start_key(s.start))
            if s.end is not None:
                cuts.add(end_key(s.end))
    breaks = sorted(cuts)
    prepared = [
        (
            a,
            _covered_entities(policy, a, model.developer),
            _country_set(a.destination_rule(DEEMED), groups),
            _country_set(a.destination_rule(LOCATION), groups),
            a.use_cases.use_cases.union(*(_class_members(policy, c) for c in a.use_cases.classes)),
            dict(a.use_cases.per_entity),
        )
        for a in auths
    ]
    timeline = sorted(model.timeline, key=lambda c: c.at)
    # A point inside segment i, on the doubled scale: the key of the break that opens it.
    probes = [breaks[0] - 1 if breaks else 0] + breaks
    segments = []
    for probe in probes:
        state, rule, note = NOT_CONTROLLED, "initial", "no control has applied yet"
        for change in timeline:
            if start_key(change.at) <= probe:
                state, rule, note = change.state, change.rule, change.note
        slices = tuple(
            AuthorizationSlice(
                auth=a,
                valid=_within(probe, a.start, a.end),
                covered=covered,
                suspended=tuple(
                    (s.entity, s.reason or s.id) for s in a.suspensions if _within(probe, s.start, s.end)
                ),
                deemed=deemed,
                location=location,
                use_cases=use_cases,
                entity_named=a.use_cases.entity_named,
                per_entity=per_entity,
            )
            for a, covered, deemed, location, use_cases, per_entity in prepared
        )
        segments.append(Segment(state, rule, note, slices))
    return ModelIndex(model.id, model.name, tier, because, breaks, segments)


def _within(probe: int, start: int, end: int | None) -> bool:
    return start_key(start) <= probe and (end is None or probe < end_key(end))


def _class_members(policy: Policy, class_id: str) -> frozenset[str]:
    for cls in policy.use_case_classes:
        if cls.id == class_id:
            return frozenset(cls.use_cases)
    return frozenset()


def _meets(entity: Entity, req: Requirement) -> bool:
    value = entity.fact(req.fact)
    if req.at_least is not None:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= req.at_least
    return bool(value == req.equals)


def _qualify(entity: Entity, tier: str, rules: tuple[QualificationRule, ...]) -> Qualification:
    applicable = [r for r in rules if tier in r.tiers]
    missing: list[Requirement] = []
    waived_by = None
    for rule in applicable:
        waived = any(
            (not w.kinds or entity.kind in w.kinds) and (not w.designations or entity.designations & w.designations)
            for w in rule.waivers
        )
        if waived:
            waived_by = rule.id
            continue
        missing.extend(r for r in rule.requirements if not _meets(entity, r))
    return Qualification(tuple(r.id for r in applicable), tuple(missing), waived_by)
