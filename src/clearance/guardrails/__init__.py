"""Guardrails: the technical-safeguard layer that reads what a caller actually asks and answers.

``load_default()`` gives the shipped prompt and answer guards, read once per process; the
gateway calls them through the protocols of :mod:`.verdict` only.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .verdict import AnswerGuard, AnswerVerdict, PromptGuard, PromptVerdict

__all__ = ["AnswerGuard", "AnswerVerdict", "PromptGuard", "PromptVerdict", "load_default"]


@lru_cache(maxsize=2)
def load_default(full_scan: bool = False) -> tuple[PromptGuard, AnswerGuard]:
    """(prompt guard, answer guard) from the artifacts shipped in the package; no network.

    ``full_scan`` reads every part of a long prompt, not only its head, tail and sampled slices."""
    from .answer import HarmfulComplianceGuard
    from .model import load_prompt_guard

    prompts = load_prompt_guard(None, full_scan)
    return prompts, HarmfulComplianceGuard(prompts, _judge())


@lru_cache(maxsize=1)
def _judge() -> Any:
    """The refusal judge inside the answer guards, read once for the sampled and full-scan pairs."""
    from ..evals.judges.trained import TrainedJudge

    return TrainedJudge.load()
