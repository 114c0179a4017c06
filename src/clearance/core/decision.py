"""Decisions: the public answer of the engine (see ``contracts/decision.md``).

A :class:`Decision` is a :class:`Verdict` (everything that follows from the
request's facts and the policy) plus the instant it was made for. Verdicts are
immutable and may be shared between decisions; a decision is two references.

Besides the contract fields a verdict carries ``steps`` (the rule chain, in
evaluation order) and ``checks`` (each authorization considered and what it
failed on), which ``clearance explain`` renders and ``to_dict(trace=True)`` adds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .instant import Instant, format_instant
from .model import Clause


class Outcome(StrEnum):
    PERMIT = "permit"
    DENY = "deny"
    REVIEW = "review"


class Code(StrEnum):
    NOT_CONTROLLED = "not-controlled"
    AUTHORIZED = "authorized"
    MODEL_SUSPENDED = "model-suspended"
    RESTRICTED_PARTY = "restricted-party"
    PENDING_REVIEW = "pending-review"
    PROHIBITED_USE = "prohibited-use"
    DESTINATION_EMBARGOED = "destination-embargoed"
    ENTITY_UNQUALIFIED = "entity-unqualified"
    USE_CASE_NOT_AUTHORIZED = "use-case-not-authorized"
    DESTINATION_NOT_AUTHORIZED = "destination-not-authorized"
    AUTHORIZATION_SUSPENDED = "authorization-suspended"
    LICENSE_REQUIRED = "license-required"
    UNKNOWN_MODEL = "unknown-model"
    UNKNOWN_ENTITY = "unknown-entity"
    UNKNOWN_USE_CASE = "unknown-use-case"
    INVALID_REQUEST = "invalid-request"


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that contributed to a decision; ``rule`` is the bundle id it cites."""

    code: str
    rule: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "rule": self.rule, "message": self.message}


PASS = "pass"
FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the evaluation order and how the request fared at it."""

    name: str
    status: str
    rule: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"step": self.name, "status": self.status, "rule": self.rule, "message": self.message}


@dataclass(frozen=True, slots=True)
class AuthorizationCheck:
    """How one authorization of the requested model fared against the request.

    Each dimension is ``True`` when it matched; ``destinations`` lists the
    destinations the authorization does not cover; ``suspension`` is the reason
    of a suspension in force for the entity, or ``None``.
    """

    authorization: str
    instant: bool
    entity: bool
    person: bool
    destinations: tuple[str, ...]
    use_case: bool
    suspension: str | None
    failures: tuple[str, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Read several times per decision (coverage, the deny code, near misses): compute once.
        failed = [
            name
            for name, ok in (
                ("instant", self.instant),
                ("entity", self.entity),
                ("person", self.person),
                ("suspension", self.suspension is None),
                ("destinations", not self.destinations),
                ("use_case", self.use_case),
            )
            if not ok
        ]
        object.__setattr__(self, "failures", tuple(failed))

    @property
    def covers(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "authorization": self.authorization,
            "covers": self.covers,
            "failed": list(self.failures),
            "uncovered_destinations": list(self.destinations),
            "suspension": self.suspension,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """Everything a decision says except the instant; shared by identical requests."""

    outcome: str
    code: str
    reasons: tuple[Reason, ...]
    authorization: str | None
    obligations: tuple[Clause, ...]
    remedies: tuple[Clause, ...]
    destinations: tuple[str, ...]
    tier: str | None
    policy_version: str
    steps: tuple[Step, ...] = ()
    checks: tuple[AuthorizationCheck, ...] = ()


class Decision:
    """A verdict made for one instant. Read-only; cheap to create."""

    __slots__ = ("verdict", "at")

    def __init__(self, verdict: Verdict, at: Instant | None) -> None:
        self.verdict = verdict
        self.at = at

    outcome = property(lambda self: self.verdict.outcome)
    code = property(lambda self: self.verdict.code)
    reasons = property(lambda self: self.verdict.reasons)
    authorization = property(lambda self: self.verdict.authorization)
    obligations = property(lambda self: self.verdict.obligations)
    remedies = property(lambda self: self.verdict.remedies)
    destinations = property(lambda self: self.verdict.destinations)
    tier = property(lambda self: self.verdict.tier)
    policy_version = property(lambda self: self.verdict.policy_version)
    steps = property(lambda self: self.verdict.steps)
    checks = property(lambda self: self.verdict.checks)

    @property
    def permitted(self) -> bool:
        return self.verdict.outcome == Outcome.PERMIT

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return self.verdict == other.verdict and self.at == other.at

    def __hash__(self) -> int:
        return hash((self.verdict, self.at))

    def __repr__(self) -> str:
        return f"Decision({self.verdict.outcome}, {self.verdict.code}, at={self.at!r})"

    def to_dict(self, trace: bool = False) -> dict[str, Any]:
        """The contract's JSON shape; ``trace`` adds ``steps`` and ``checks``."""
        v = self.verdict
        out: dict[str, Any] = {
            "outcome": str(v.outcome),
            "code": str(v.code),
            "reasons": [r.to_dict() for r in v.reasons],
            "authorization": v.authorization,
            "obligations": [o.to_dict() for o in v.obligations],
            "remedies": [r.to_dict() for r in v.remedies],
            "destinations": list(v.destinations),
            "tier": v.tier,
            "policy_version": v.policy_version,
            "at": None if self.at is None else format_instant(self.at),
        }
        if trace:
            out["steps"] = [s.to_dict() for s in v.steps]
            out["checks"] = [c.to_dict() for c in v.checks]
        return out
