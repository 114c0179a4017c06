"""What a guard says about a prompt or an answer, and the seams the gateway calls.

The gateway depends on these protocols only, so the classifier behind them (a trained model,
the substring baseline, or a test double) can change without touching enforcement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

PromptLabel = Literal["prohibited-domain", "harmful", "jailbreak", "clean"]
PROMPT_LABELS: tuple[PromptLabel, ...] = ("prohibited-domain", "harmful", "jailbreak", "clean")


# Reasons that quote the prompt's own words at length: a reading restated, or a sentence read alone. An audit
# record that does not keep the content keeps their kind, not the quote.
RESTATED_REASON = "restated: "
SENTENCE_REASON = "in a sentence: "
QUOTING_REASONS = (RESTATED_REASON, SENTENCE_REASON)
WITHHELD = "(withheld: content not recorded)"


def without_quotes(features: tuple[str, ...] | list[str]) -> list[str]:
    """``features`` with every quote of the prompt replaced by ``WITHHELD``."""
    return [next((p + WITHHELD for p in QUOTING_REASONS if f.startswith(p)), f) for f in features]


@dataclass(frozen=True, slots=True)
class PromptVerdict:
    """A prompt's label, the score behind it (0..1, higher is worse), and why.

    `domain` names the prohibited domain (a use-case class of the bundle) when the label is
    `prohibited-domain`; `features` are the readable reasons a reviewer sees, strongest first;
    `scores` gives every label's score so a policy can apply its own thresholds per label.
    """

    label: PromptLabel
    score: float
    domain: str | None = None
    features: tuple[str, ...] = ()
    scores: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class AnswerVerdict:
    """Whether an answer (or a window of a streamed one) is harmful compliance, with its score."""

    harmful: bool
    score: float
    features: tuple[str, ...] = ()


class PromptGuard(Protocol):
    name: str
    version: str

    def check_prompt(self, text: str) -> PromptVerdict:
        """Classify one prompt: every message's text, already joined by the caller."""
        ...


class AnswerGuard(Protocol):
    name: str
    version: str

    def check_answer(self, prompt: str, answer: str, asked: PromptVerdict | None = None) -> AnswerVerdict:
        """Label an answer (or the text streamed so far) to `prompt`; ``asked`` is the verdict the prompt
        already got at the gateway (its reading, lexical or contextual), when there was one."""
        ...
