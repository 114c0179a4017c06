"""Step 1: the request names things the policy knows, and describes a valid person.

Checked in the contract's order: the person's nationality facts (a malformed
request is ``invalid-request``), then model, entity and use case, where the
first unknown id gives the code.
"""

from __future__ import annotations

from ..decision import Code, Outcome, Reason, Verdict
from ..errors import RequestError
from ..evaluation import Evaluation
from .destinations import describe, resolve


def check(ev: Evaluation) -> Verdict | None:
    req, policy = ev.request, ev.policy
    try:
        ev.destinations, source = resolve(req.person, policy.home, policy.deemed_rule)
    except RequestError as exc:
        return ev.verdict("identity", Outcome.DENY, Code.INVALID_REQUEST, (Reason(Code.INVALID_REQUEST, "request", str(exc)),))
    if ev.model is None:
        return _unknown(ev, Code.UNKNOWN_MODEL, "model", req.model)
    entity = policy.entities.get(req.entity)
    if entity is None:
        return _unknown(ev, Code.UNKNOWN_ENTITY, "entity", req.entity)
    ev.entity = entity
    found = policy.use_cases.get(req.use_case)
    if found is None:
        return _unknown(ev, Code.UNKNOWN_USE_CASE, "use case", req.use_case)
    ev.use_case_class, ev.prohibited = found
    if ev.trace:
        how = describe(ev.destinations, source, policy.home)
        ev.passed("identity", "request", f"model `{req.model}`, entity `{req.entity}`, use case `{req.use_case}`; {how}")
    return None


def _unknown(ev: Evaluation, code: Code, what: str, value: str) -> Verdict:
    message = f"{what} `{value}` is not defined in policy `{ev.policy.policy.id}`"
    return ev.verdict("identity", Outcome.DENY, code, (Reason(code, "request", message),))
