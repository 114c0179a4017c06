"""The guard step of enforcement: a permitted call's prompt and answer judged under the bundle's guard rules.

The prompt is judged after the decision and before any obligation's before-step, so a blocked
prompt never reserves a usage cap. The plan comes from the bundle's ``guardrails`` section
for the call's model tier, use case and authorization, raised by a ``guardrail`` obligation
(:mod:`clearance.guardrails.policy`). Blocks and flags become ``guardrail`` audit records
(:func:`clearance.services.audit_trail.guardrail_body`), the text hashed, and kept only when
the permit's ``monitoring`` obligation records content.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..core.decision import Decision
from ..guardrails.policy import Guards, Hit, Plan, judge_answer, judge_prompt, plan_for, rules_of
from ..guardrails.verdict import AnswerGuard, PromptGuard, PromptVerdict
from ..obligations import Refusal
from ..obligations.handler import Handler, Params
from ..observability import metrics
from ..services.audit_trail import guardrail_body

log = logging.getLogger(__name__)
REMEDIES = [{"code": "rephrase-request"}, {"code": "request-review"}]
# What the answer guard sees of a long stream: its end, where new text is, bounded so each check costs alike.
ANSWER_TAIL_CHARS = 8000


class GuardFailed(Exception):
    """A guard raised: the call cannot be judged, so it is not served (fail closed)."""


@dataclass
class Screening:
    """One permitted call's guard state: its plan, the guards, the prompt, and what was found."""

    plan: Plan
    guards: Guards
    prompt: str
    record_content: bool
    call: dict[str, Any]  # who and what, copied into each guardrail record
    hits: list[Hit] = field(default_factory=list)
    # The prompt's verdict under the plan's reading, once it was checked: the answer guard weighs the
    # answer by it rather than reading the prompt again (a contextual plan's answers are weighed in context).
    asked: PromptVerdict | None = None

    @property
    def prompt_guard(self) -> PromptGuard | None:
        """The prompt guard for this call's plan: its scan (``scan: full``) and reading (``reading: contextual``)."""
        return self.guards.prompt_for(self.plan)

    @property
    def answer_guard(self) -> AnswerGuard | None:
        return self.guards.for_scan(self.plan.scan)[1]

    @property
    def answer_active(self) -> bool:
        return self.plan.answer.action != "off" and self.answer_guard is not None


def screening_for(meta: tuple[tuple[str, Any], ...], decision: Decision, use_case: str | None, prompt: str | None,
                  duties: tuple[tuple[Handler, Params], ...], guards: Guards | None, call: dict[str, Any]
                  ) -> Screening | None:
    """The call's screening, or ``None`` when no guard acts on it (no guards, no text, every label off)."""
    if guards is None or prompt is None:
        return None
    level = None
    record_content = False
    for handler, params in duties:
        code = getattr(handler, "code", None)
        if code == "guardrail":
            wanted = params.level
            level = wanted if level is None or wanted == "block" else level
        elif code == "monitoring":
            record_content = record_content or bool(getattr(params, "content", False))
    plan = plan_for(rules_of(meta), decision.tier, use_case, decision.authorization, level)
    if not plan.active:
        return None
    return Screening(plan, guards, prompt, record_content, call)


def check_prompt(screening: Screening) -> Hit | None:
    guard = screening.prompt_guard
    if guard is None or not screening.plan.prompt_active or not screening.prompt:
        return None
    try:
        verdict = guard.check_prompt(screening.prompt)
    except Exception as exc:  # noqa: BLE001 - any guard failure refuses the call, never lets it through
        log.exception("prompt guard %s failed", getattr(guard, "name", "?"))
        raise GuardFailed(f"the prompt guard failed ({type(exc).__name__}), so the call is not served") from exc
    screening.asked = verdict
    hit = judge_prompt(screening.plan, verdict)
    if hit is not None:
        screening.hits.append(hit)
        metrics.guardrail_acted(hit.action, hit.label)
    return hit


def check_answer(screening: Screening, answer: str) -> Hit | None:
    """The answer (or the text streamed so far) judged; raises :class:`GuardFailed` when the guard does."""
    guard = screening.answer_guard
    if guard is None or screening.plan.answer.action == "off" or not answer:
        return None
    try:
        verdict = guard.check_answer(screening.prompt, answer[-ANSWER_TAIL_CHARS:], screening.asked)
    except Exception as exc:  # noqa: BLE001
        log.exception("answer guard %s failed", getattr(guard, "name", "?"))
        raise GuardFailed(f"the answer guard failed ({type(exc).__name__})") from exc
    hit = judge_answer(screening.plan, verdict)
    if hit is not None:
        screening.hits.append(hit)
        metrics.guardrail_acted(hit.action, "answer-harmful")
    return hit


def blocked(hit: Hit) -> Refusal:
    """The refusal of a prompt the guard blocked: 403 ``guardrail-blocked`` with what to do next."""
    what = f"{hit.label} ({hit.domain})" if hit.domain else hit.label
    return Refusal(403, "guardrail-blocked",
                   f"the gateway's guardrail blocked this prompt as {what}; rephrase it, or ask your "
                   "compliance contact for a review if it is legitimate",
                   details={"remedies": REMEDIES, "guardrail": {"stage": hit.stage, "label": hit.label,
                                                                "domain": hit.domain}})


def record(screening: Screening, hit: Hit, text: str, decision_seq: int) -> tuple[str, dict[str, Any]]:
    """The ``guardrail`` audit entry (kind, body) of ``hit`` about ``text``."""
    guard = screening.prompt_guard if hit.stage == "prompt" else screening.answer_guard
    return "guardrail", guardrail_body(hit, {"decision_seq": decision_seq, **screening.call}, text,
                                       screening.record_content, guard)


def summary(hit: Hit) -> dict[str, Any]:
    """What a decision or completion record says of a hit (the guardrail record has the rest)."""
    return {"stage": hit.stage, "label": hit.label, "action": hit.action, "score": round(hit.score, 6),
            "rule": hit.rule}
