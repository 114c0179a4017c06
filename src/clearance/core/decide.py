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


def decide(policy: CompiledPolicy, request: Request, trace: bool = False) -> Decision:
    """Decide ``request`` under ``policy``; see the contract for the answer's shape.

    With ``trace`` the decision also carries the rule chain (``steps``); it is
    evaluated afresh, and its contract fields are the same as without.
    """
    if trace:
        return decide_uncached(policy, request, trace=True)
    model = policy.models.get(request.model)
    seg = bisect_right(model.breaks, request.at_key) if model is not None else 0
    pid = request.person.id
    if pid is not None and pid in policy.restricted_persons:
        return Decision(evaluate(policy, request, seg), request.at)
    memo_key = (request.key, seg)
    verdict = policy.memo.get(memo_key)
    if verdict is None:
        facts = _facts(policy, request, seg)
        verdict = policy.memo.get(facts) if facts is not None else None
        if verdict is None:
            verdict = evaluate(policy, request, seg)
            if facts is not None:
                policy.remember(facts, verdict)
        policy.remember(memo_key, verdict)
    return Decision(verdict, request.at)


def _facts(policy: CompiledPolicy, request: Request, seg: int) -> tuple | None:
    """What an untraced verdict depends on, beyond the raw request: many requests share it.

    ``None`` when the person is malformed (the verdict then depends on the error).
    """
    try:
        dests, _ = destinations.resolve(request.person, policy.home, policy.deemed_rule)
    except RequestError:
        return None
    employer = request.person.employer
    employed = employer is None or employer == request.entity
    return ("facts", request.model, seg, request.entity, request.use_case, employed, dests)


def decide_uncached(policy: CompiledPolicy, request: Request, trace: bool = False) -> Decision:
    """The same as :func:`decide`, evaluating every step afresh (for tests and tracing)."""
    model = policy.models.get(request.model)
    seg = bisect_right(model.breaks, request.at_key) if model is not None else 0
    return Decision(evaluate(policy, request, seg, trace), request.at)


def evaluate(policy: CompiledPolicy, request: Request, seg: int, trace: bool = False) -> Verdict:
    ev = Evaluation(policy, request, policy.models.get(request.model), seg, trace)
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


def decide_json(policy: CompiledPolicy, obj: Any, now: Instant | None = None, trace: bool = False) -> Decision:
    """Parse a decoded JSON request and decide it; a malformed one is ``invalid-request``."""
    try:
        request = parse_request(obj, now)
    except RequestError as exc:
        return invalid(policy, exc)
    return decide(policy, request, trace)
