"""Step 7: entities using models of qualifying tiers must meet every requirement.

A missing item denies with every missing item listed and its remedy; when no
authorization would cover the request even once qualified, the remedies also
say to apply for a licence.
"""

from __future__ import annotations

from ..decision import Code, Outcome, Reason, Verdict
from ..evaluation import Evaluation
from ..model import Requirement
from . import authorization


def check(ev: Evaluation) -> Verdict | None:
    assert ev.model is not None and ev.entity is not None
    tier = ev.model.tier
    if tier is None:
        if ev.trace:
            ev.passed("qualification", "qualification", "the model has no tier; no qualification applies")
        return None
    q = ev.policy.qualification_of(ev.entity, tier)
    rule = ",".join(q.rules) or "qualification"
    if not q.missing:
        if ev.trace:
            if not q.rules:
                message = f"no qualification is required for {tier} models"
            elif q.waived_by:
                message = f"`{ev.entity.id}` counts as qualified by designation under {q.waived_by}"
            else:
                message = f"`{ev.entity.id}` meets every {tier} requirement"
            ev.passed("qualification", rule, message)
        return None
    items = "; ".join(_describe(ev, r) for r in q.missing)
    primary = Reason(Code.ENTITY_UNQUALIFIED, rule, f"`{ev.entity.id}` lacks what {tier} models require: {items}")
    remedies = tuple(r.remedy for r in q.missing)
    checks, covering = authorization.evaluate(ev)
    if covering is None:
        remedies += (authorization.APPLY,)
    return ev.verdict("qualification", Outcome.DENY, Code.ENTITY_UNQUALIFIED, (primary,), remedies=remedies, checks=checks)


def _describe(ev: Evaluation, req: Requirement) -> str:
    assert ev.entity is not None
    has = ev.entity.fact(req.fact)
    shown = "none" if has is None else ("yes" if has else "no") if isinstance(has, bool) else has
    return f"{req.label} (has {shown})"
