"""``decide()``: one request, one policy, one explained decision.

Pure: the instant comes with the request, nothing is read from outside, and the
same request under the same policy version always gets the same decision. It
never raises for a bad request; :func:`decide_json` turns a malformed document
into an ``invalid-request`` decision naming the field.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from .decision import Code, Decision, Outcome, Reason, Verdict
from .errors import RequestError
from .evaluation import Evaluation
from .index import CompiledPolicy
from .instant import Instant
from .request import Request, parse_request
from .steps import authorization, control, destinations, identity, qualification, restricted_party, use_case

STEPS = (
    identity.check,
    restricted_party.check,
    control.check,
    use_case.check,
    destinations.check,
    qualification.check,
)


def decide(policy: CompiledPolicy, request: Request) -> Decision:
    """Decide ``request`` under ``policy``; see the contract for the answer's shape."""
    model = policy.models.get(request.model)
    seg = bisect_right(model.breaks, request.at_key) if model is not None else 0
    pid = request.person.id
    if pid is not None and pid in policy.restricted_persons:
        return Decision(evaluate(policy, request, seg), request.at)
    memo_key = (request.key, seg)
    verdict = policy.memo.get(memo_key)
    if verdict is None:
        verdict = evaluate(policy, request, seg)
        policy.remember(memo_key, verdict)
    return Decision(verdict, request.at)


def decide_uncached(policy: CompiledPolicy, request: Request) -> Decision:
    """The same as :func:`decide`, evaluating every step afresh (for tests and tracing)."""
    model = policy.models.get(request.model)
    seg = bisect_right(model.breaks, request.at_key) if model is not None else 0
    return Decision(evaluate(policy, request, seg), request.at)


def evaluate(policy: CompiledPolicy, request: Request, seg: int) -> Verdict:
    ev = Evaluation(policy, request, policy.models.get(request.model), seg)
    for step in STEPS:
        verdict = step(ev)
        if verdict is not None:
            return verdict
    return authorization.check(ev)


def invalid(policy: CompiledPolicy, error: RequestError, at: Instant | None = None) -> Decision:
    """The ``invalid-request`` decision for a request that could not be parsed."""
    reason = Reason(Code.INVALID_REQUEST, "request", str(error))
    verdict = Verdict(Outcome.DENY, Code.INVALID_REQUEST, (reason,), None, (), (), (), None, policy.version)
    return Decision(verdict, at)


def decide_json(policy: CompiledPolicy, obj: Any, now: Instant | None = None) -> Decision:
    """Parse a decoded JSON request and decide it; a malformed one is ``invalid-request``."""
    try:
        request = parse_request(obj, now)
    except RequestError as exc:
        return invalid(policy, exc)
    return decide(policy, request)
