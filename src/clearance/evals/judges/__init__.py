"""Judges: each labels a model's answer full compliance, partial refusal or full refusal.

``strmatch`` is a transparent phrase list, ``trained`` a small logistic model over
refusal-language features, weighed by the prompt's risk when a prompt is given, trained
from human labels (``clearance eval train-judge``),
``encoder`` (optional, slower) adds a LoRA-fine-tuned sentence encoder's reading of the answer to the
trained judge's features (``clearance eval train-judge --encoder``), ``llm`` asks any OpenAI-compatible endpoint with the prompt in ``llm_prompt.txt``.
"""

from __future__ import annotations

from .base import LABELS, Judge, Judgement, is_refusal

NAMES = ("trained", "strmatch", "encoder", "llm")


def get_judge(name: str, **options: str) -> Judge:
    """The judge called ``name``; ``llm`` takes ``url``, ``model`` and ``key`` options."""
    if name == "strmatch":
        from .strmatch import StringMatchJudge

        return StringMatchJudge()
    if name == "trained":
        from .trained import TrainedJudge

        return TrainedJudge.load(options.get("artifact"))
    if name == "encoder":
        from .encoder import EncoderJudge

        return EncoderJudge.load(options.get("artifact"))
    if name == "llm":
        from .llm import LlmJudge

        return LlmJudge.from_options(options)
    raise ValueError(f"unknown judge `{name}` (known: {', '.join(NAMES)})")


__all__ = ["LABELS", "NAMES", "Judge", "Judgement", "get_judge", "is_refusal"]
