"""The state of one evaluation as it walks the steps of the policy's order."""

from __future__ import annotations

from .decision import FAIL, PASS, Outcome, Reason, Step, Verdict
from .index import CompiledPolicy, ModelIndex, Segment
from .model import Clause, Entity
from .request import Request


class Evaluation:
    """What the steps have established so far about one request.

    Steps fill the fields in order (model, entity, use case, destinations, ...);
    a step that ends the evaluation returns a :class:`Verdict` built by
    :meth:`verdict`, which records the failing step in the rule chain.
    """

    __slots__ = (
        "policy",
        "request",
        "model",
        "segment",
        "entity",
        "use_case_class",
        "prohibited",
        "destinations",
        "steps",
        "trace",
    )

    def __init__(
        self, policy: CompiledPolicy, request: Request, model: ModelIndex | None, seg: int, trace: bool = False
    ) -> None:
        self.policy = policy
        self.request = request
        self.model = model
        self.segment: Segment | None = model.segments[seg] if model is not None else None
        self.entity: Entity | None = None
        self.use_case_class = ""
        self.prohibited = False
        self.destinations: tuple[tuple[str, str], ...] = ()
        self.steps: list[Step] = []
        # Passing steps are recorded only when a trace is asked for: building their
        # messages costs more than deciding, and most callers only need the verdict.
        self.trace = trace

    @property
    def countries(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(country for _, country in self.destinations))

    def passed(self, step: str, rule: str, message: str) -> None:
        self.steps.append(Step(step, PASS, rule, message))

    def verdict(
        self,
        step: str,
        outcome: Outcome,
        code: str,
        reasons: tuple[Reason, ...],
        authorization: str | None = None,
        obligations: tuple[Clause, ...] = (),
        remedies: tuple[Clause, ...] = (),
        checks: tuple = (),
    ) -> Verdict:
        if self.trace:
            primary = reasons[0]
            self.steps.append(Step(step, PASS if outcome == Outcome.PERMIT else FAIL, primary.rule, primary.message))
        return Verdict(
            outcome=outcome,
            code=code,
            reasons=reasons,
            authorization=authorization,
            obligations=obligations,
            remedies=remedies,
            destinations=self.countries,
            tier=self.model.tier if self.model is not None else None,
            policy_version=self.policy.version,
            steps=tuple(self.steps),
            checks=checks,
        )
