"""Safety tiers from evaluation evidence.

Evidence is a nested mapping (for example
``{"capabilities": {"system-penetration": "primitives"}, "guardrails": {...}}``).
The highest tier whose rule has a condition that holds is the base tier (the
lowest tier when none holds); then every raise whose condition holds lifts it
by its step count, capped at the top tier. A condition on a field the evidence
lacks does not hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .model import Condition, Tiering

_MISSING = object()

# Evidence fields a safety evaluation measures (``clearance eval``, accepted as registry
# ``evidence`` records), by kind: ``rate`` is a share in 0..1 (each rate also has
# ``_lower`` and ``_upper``, its 95 % Wilson bounds), ``flag`` a boolean, ``count`` a number.
# A bundle condition on ``guardrails.*`` must name one of these, so a typo is an error at
# load time rather than a condition that silently never holds.
_RATES = ("harmful_refusal_rate", "jailbreak_attack_success_rate", "jailbreak_direct_success_rate",
          "over_refusal_rate", "injection_success_rate")
MEASURED_FIELDS: dict[str, str] = {
    **{f"guardrails.{name}{bound}": "rate" for name in _RATES for bound in ("", "_lower", "_upper")},
    "guardrails.universal_jailbreak": "flag",
    "guardrails.universal_templates": "count",
}


@dataclass(frozen=True, slots=True)
class TierFinding:
    """The tier and the rule ids that produced it, lowest first."""

    tier: str
    because: tuple[str, ...]


def tier_from_evidence(evidence: Mapping[str, Any], tiering: Tiering) -> TierFinding:
    tiers = tiering.tiers
    level = 0
    because: list[str] = []
    for rule in tiering.rules:
        rank = tiers.index(rule.tier)
        if rank > level and any(_holds(c, evidence) for c in rule.any_of):
            level = rank
            because = [f"{rule.tier}: {_describe_first(rule.any_of, evidence)}"]
    for lift in tiering.raises:
        if any(_holds(c, evidence) for c in lift.any_of):
            level = min(level + lift.by, len(tiers) - 1)
            because.append(f"{lift.id}: {_describe_first(lift.any_of, evidence)}")
    return TierFinding(tiers[level], tuple(because))


def _lookup(evidence: Mapping[str, Any], path: str) -> Any:
    value: Any = evidence
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _holds(cond: Condition, evidence: Mapping[str, Any]) -> bool:
    value = _lookup(evidence, cond.field)
    if value is _MISSING or value is None:
        return False
    if cond.equals is not None:
        return bool(value == cond.equals)
    if cond.in_ is not None:
        return value in cond.in_
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    if cond.above is not None:
        return value > cond.above
    if cond.below is not None:
        return value < cond.below
    if cond.at_least is not None:
        return value >= cond.at_least
    if cond.at_most is not None:
        return value <= cond.at_most
    return False


def _describe_first(conds: tuple[Condition, ...], evidence: Mapping[str, Any]) -> str:
    for cond in conds:
        if _holds(cond, evidence):
            return f"{cond.field} = {_lookup(evidence, cond.field)!r}"
    return ""
