"""Static checks across a bundle's files: every reference resolves, timelines are coherent.

Runs after each file has passed its schema. Reports every problem with the file,
line and field of the offending value: a duplicate id, a reference to an id
that no section defines, a cycle of country groups, a validity that ends
before it starts, two control changes of one model at the same instant, a
declared tier that its own evidence contradicts, an obligation no handler knows or
whose parameters its handler rejects.
"""

from __future__ import annotations

from ..core.errors import Problem
from ..core.model import Condition, Tiering, TierRaise, TierRule
from ..core.tiers import MEASURED_FIELDS, tier_from_evidence
from ..obligations import clause_problems
from .load import Item, Sections

REQUIRED = ("policy", "jurisdiction", "tiering")


def check_sections(sections: Sections) -> list[Problem]:
    problems: list[Problem] = []
    for name in REQUIRED:
        if name not in sections.single:
            problems.append(Problem("(bundle)", None, name, "required section is missing from every file"))
    ids = {name: _unique(items, problems) for name, items in sections.lists.items()}
    groups, entities, models = ids["country_groups"], ids["entities"], ids["models"]
    use_cases = _use_cases(sections.lists["use_case_classes"], problems)
    classes = ids["use_case_classes"]
    prohibited = {
        uc for item in sections.lists["use_case_classes"] if item.spec.prohibited for uc in item.spec.use_cases
    }
    tiers: list[str] = []
    if "tiering" in sections.single:
        tiers = _check_tiering(sections.single["tiering"], problems)
    if "jurisdiction" in sections.single:
        j = sections.single["jurisdiction"]
        for i, g in enumerate(j.spec.embargo_groups):
            _ref(j, g, groups, "country group", problems, "embargo_groups", i)
    _check_groups(sections.lists["country_groups"], problems)
    for item in sections.lists["qualification"]:
        for i, t in enumerate(item.spec.tiers):
            _ref(item, t, tiers, "tier", problems, "tiers", i)
    for item in sections.lists["entities"]:
        for i, uc in enumerate(item.spec.named_use_cases):
            _ref(item, uc, use_cases, "use case", problems, "named_use_cases", i)
            if uc in prohibited:
                problems.append(item.problem(f"use case `{uc}` is prohibited; it cannot be named", "named_use_cases", i))
    for item in sections.lists["directives"]:
        for i, effect in enumerate(item.spec.effects):
            _ref(item, effect.model, models, "model", problems, "effects", i, "model")
    _check_models(sections, entities, tiers, problems)
    for item in sections.lists["authorizations"]:
        _check_authorization(item, models, entities, groups, use_cases, classes, problems)
        _check_clauses(item, item.spec.obligations, problems, "obligations")
    if "guardrails" in sections.single:
        _check_guardrails(sections.single["guardrails"], tiers, use_cases, ids["authorizations"], problems)
    if "licensing" in sections.single:
        licensing = sections.single["licensing"]
        _check_clauses(licensing, licensing.spec.default_conditions, problems, "default_conditions")
    return problems


def _check_guardrails(item: Item, tiers: list[str], use_cases: set[str], authorizations: set[str],
                      problems: list[Problem]) -> None:
    """Guard rules name known tiers, use cases and authorizations, set something, and never tie.

    Two rules tie when they constrain the same fields (so are equally specific) and some call
    matches both: which one wins would depend on file order, so the bundle must say.
    """
    rules = item.spec.rules
    seen: dict[str, int] = {}
    known = {"tiers": (tiers, "tier"), "use_cases": (use_cases, "use case"),
             "authorizations": (authorizations, "authorization")}
    for i, rule in enumerate(rules):
        if rule.id in seen:
            problems.append(item.problem(f"duplicate rule id `{rule.id}` (first is rules.{seen[rule.id]})", "rules", i, "id"))
        seen.setdefault(rule.id, i)
        for name, (values, what) in known.items():
            for j, value in enumerate(getattr(rule.when, name)):
                _ref(item, value, values, what, problems, "rules", i, "when", name, j)
        if not rule.prompt.model_fields_set and not rule.answer.model_fields_set and rule.scan is None \
                and rule.reading is None:
            problems.append(item.problem("a rule must set at least one label under `prompt` or `answer`, or `scan` "
                                         "or `reading`",
                                         "rules", i))
    for i, rule in enumerate(rules):
        for j in range(i):
            other = rules[j]
            fields = [n for n in known if getattr(rule.when, n)]
            if fields != [n for n in known if getattr(other.when, n)]:
                continue
            if all(set(getattr(rule.when, n)) & set(getattr(other.when, n)) for n in fields):
                shared = "; ".join(f"{n}: {', '.join(sorted(set(getattr(rule.when, n)) & set(getattr(other.when, n))))}"
                                   for n in fields) or "every call"
                problems.append(item.problem(
                    f"rule `{rule.id}` is as specific as rule `{other.id}` and both apply to {shared}: "
                    "split or narrow one so a single rule decides", "rules", i, "when"))


def _check_clauses(item: Item, clauses: list, problems: list[Problem], where: str) -> None:
    """Obligations are checked against their handlers here, at load, never first at call time."""
    for i, clause in enumerate(clauses):
        for field, message in clause_problems(clause.model_dump(mode="python")):
            problems.append(item.problem(message, where, i, *field.split(".")))


def _unique(items: list[Item], problems: list[Problem]) -> set[str]:
    seen: dict[str, Item] = {}
    for item in items:
        first = seen.get(item.spec.id)
        if first is not None:
            where = f"{first.doc.file}:{first.doc.line_of(first.path)}"
            problems.append(item.problem(f"duplicate id `{item.spec.id}` (first defined at {where})", "id"))
        else:
            seen[item.spec.id] = item
    return set(seen)


def _ref(item: Item, value: str, known: set[str] | list[str], what: str, problems: list[Problem], *sub: str | int) -> None:
    if value not in known:
        problems.append(item.problem(f"unknown {what} `{value}`", *sub))


def _use_cases(items: list[Item], problems: list[Problem]) -> set[str]:
    owner: dict[str, str] = {}
    for item in items:
        for i, uc in enumerate(item.spec.use_cases):
            if uc in owner:
                problems.append(item.problem(f"use case `{uc}` is already in class `{owner[uc]}`", "use_cases", i))
            owner.setdefault(uc, item.spec.id)
    return set(owner)


def _check_groups(items: list[Item], problems: list[Problem]) -> None:
    by_id = {item.spec.id: item for item in items}
    for item in items:
        for i, inc in enumerate(item.spec.includes):
            _ref(item, inc, set(by_id), "country group", problems, "includes", i)
    state: dict[str, int] = {}

    def visit(gid: str, trail: list[str]) -> None:
        if state.get(gid) == 2 or gid not in by_id:
            return
        if state.get(gid) == 1:
            cycle = " -> ".join([*trail[trail.index(gid):], gid])
            problems.append(by_id[gid].problem(f"country groups include each other: {cycle}", "includes"))
            return
        state[gid] = 1
        for inc in by_id[gid].spec.includes:
            visit(inc, [*trail, gid])
        state[gid] = 2

    for gid in by_id:
        visit(gid, [])


def _check_tiering(item: Item, problems: list[Problem]) -> list[str]:
    spec = item.spec
    if len(set(spec.tiers)) != len(spec.tiers):
        problems.append(item.problem("tiers must be distinct", "tiers"))
    for i, rule in enumerate(spec.rules):
        _ref(item, rule.tier, spec.tiers, "tier", problems, "rules", i, "tier")
    for section, entries in (("rules", spec.rules), ("raises", spec.raises)):
        for i, entry in enumerate(entries):
            for j, cond in enumerate(entry.any_of):
                _check_measured(item, cond, problems, section, i, "any_of", j)
    return list(spec.tiers)


def _check_measured(item: Item, cond, problems: list[Problem], *at: str | int) -> None:
    """A condition on a measured (``guardrails.*``) field must name a known field and compare it sensibly."""
    if not cond.field.startswith("guardrails."):
        return
    kind = MEASURED_FIELDS.get(cond.field)
    if kind is None:
        known = ", ".join(sorted(MEASURED_FIELDS))
        problems.append(item.problem(f"unknown measured field `{cond.field}` (known: {known})", *at, "field"))
        return
    bounds = [v for v in (cond.above, cond.below, cond.at_least, cond.at_most) if v is not None]
    if kind == "flag" and not isinstance(cond.equals, bool):
        problems.append(item.problem(f"`{cond.field}` is true or false: compare it with `equals: true|false`", *at))
    elif kind == "rate" and (not bounds or not all(0 <= b <= 1 for b in bounds)):
        problems.append(item.problem(f"`{cond.field}` is a share in 0..1: compare it with above, below, at_least "
                                     "or at_most and a bound in 0..1", *at))
    elif kind == "count" and not bounds:
        problems.append(item.problem(f"`{cond.field}` is a count: compare it with above, below, at_least or at_most", *at))


def tiering_of(item: Item) -> Tiering:
    spec = item.spec
    return Tiering(
        tiers=tuple(spec.tiers),
        rules=tuple(TierRule(r.tier, tuple(condition(c) for c in r.any_of)) for r in spec.rules),
        raises=tuple(TierRaise(r.id, r.by, tuple(condition(c) for c in r.any_of)) for r in spec.raises),
    )


def condition(spec) -> Condition:
    return Condition(
        field=spec.field,
        equals=spec.equals,
        in_=tuple(spec.in_) if spec.in_ is not None else None,
        above=spec.above,
        below=spec.below,
        at_least=spec.at_least,
        at_most=spec.at_most,
    )


def _check_models(sections: Sections, entities: set[str], tiers: list[str], problems: list[Problem]) -> None:
    tiering_item = sections.single.get("tiering")
    tiering = tiering_of(tiering_item) if tiering_item is not None else None
    changes: dict[tuple[str, int], str] = {}
    for item in sections.lists["directives"]:
        for effect in item.spec.effects:
            changes.setdefault((effect.model, item.spec.at), item.spec.id)
    for item in sections.lists["models"]:
        m = item.spec
        if m.developer is not None:
            _ref(item, m.developer, entities, "entity", problems, "developer")
        if m.tier is not None:
            _ref(item, m.tier, tiers, "tier", problems, "tier")
        if m.tier is None and m.evidence is None:
            problems.append(item.problem("a model needs a `tier` or `evidence` to derive one from", "id"))
        if m.tier is not None and m.evidence is not None and tiering is not None and m.tier in tiers:
            derived = tier_from_evidence(m.evidence, tiering).tier
            if derived != m.tier:
                problems.append(item.problem(f"declared tier {m.tier} contradicts its evidence, which gives {derived}", "tier"))
        for i, c in enumerate(m.controls):
            other = changes.get((m.id, c.at))
            if other is not None:
                problems.append(item.problem(f"another control change of `{m.id}` ({other}) takes effect at the same instant", "controls", i, "at"))
            changes[(m.id, c.at)] = c.id


def _check_authorization(
    item: Item,
    models: set[str],
    entities: set[str],
    groups: set[str],
    use_cases: set[str],
    classes: set[str],
    problems: list[Problem],
) -> None:
    a = item.spec
    for i, m in enumerate(a.models):
        _ref(item, m, models, "model", problems, "models", i)
    if a.valid.until is not None and a.valid.until < a.valid.from_:
        problems.append(item.problem("validity ends before it starts", "valid", "until"))
    for i, e in enumerate(a.covers.entities):
        _ref(item, e, entities, "entity", problems, "covers", "entities", i)
    for role in ("deemed", "location"):
        rule = getattr(a.destinations, role)
        for key in ("groups", "except_groups"):
            for i, g in enumerate(getattr(rule, key)):
                _ref(item, g, groups, "country group", problems, "destinations", role, key, i)
    for i, uc in enumerate(a.use_cases.use_cases):
        _ref(item, uc, use_cases, "use case", problems, "use_cases", "use_cases", i)
    for i, c in enumerate(a.use_cases.classes):
        _ref(item, c, classes, "use-case class", problems, "use_cases", "classes", i)
    for entity, named in a.use_cases.per_entity.items():
        _ref(item, entity, entities, "entity", problems, "use_cases", "per_entity", entity)
        for i, uc in enumerate(named):
            _ref(item, uc, use_cases, "use case", problems, "use_cases", "per_entity", entity, i)
    for i, s in enumerate(a.suspensions):
        if s.entity is not None:
            _ref(item, s.entity, entities, "entity", problems, "suspensions", i, "entity")
        if s.until is not None and s.until < s.from_:
            problems.append(item.problem("suspension ends before it starts", "suspensions", i, "until"))
