"""Step 2: restricted parties are denied for every model; possible matches wait for review."""

from __future__ import annotations

from ..decision import Code, Outcome, Reason, Verdict
from ..evaluation import Evaluation
from ..model import LISTED, Restriction


def check(ev: Evaluation) -> Verdict | None:
    assert ev.entity is not None
    person_id = ev.request.person.id
    found: list[tuple[str, Restriction]] = []
    if ev.entity.restriction is not None:
        found.append((f"entity `{ev.entity.id}` ({ev.entity.name})", ev.entity.restriction))
    person_flag = ev.policy.restricted_persons.get(person_id) if person_id else None
    if person_flag is not None:
        found.append((f"person `{person_id}`", person_flag))
    listed = [(who, r) for who, r in found if r.status == LISTED]
    if listed:
        reasons = tuple(_reason(Code.RESTRICTED_PARTY, who, r, "is on") for who, r in listed)
        return ev.verdict("restricted-party", Outcome.DENY, Code.RESTRICTED_PARTY, reasons)
    if found:
        reasons = tuple(_reason(Code.PENDING_REVIEW, who, r, "possibly matches an entry of") for who, r in found)
        return ev.verdict("restricted-party", Outcome.REVIEW, Code.PENDING_REVIEW, reasons)
    if ev.trace:
        ev.passed("restricted-party", "restricted-party", "no restricted-party flag on the entity or the person")
    return None


def _reason(code: Code, who: str, r: Restriction, verb: str) -> Reason:
    detail = f": {r.reason}" if r.reason else ""
    return Reason(code, r.reference or "restricted-party", f"{who} {verb} {r.list}{detail}")
