"""The shipped contextual head names what it reads, and one that names what the encoder cannot give is refused."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from clearance.guardrails.contextual import ContextualPromptGuard, default_head
from clearance.guardrails.model import GuardModelError, TrainedPromptGuard, default_artifact


def test_a_head_naming_a_pooling_the_encoder_lacks_is_refused(encoder):
    raw = default_artifact().read_bytes()
    base = TrainedPromptGuard(orjson.loads(raw), hashlib.sha256(raw).hexdigest())
    shipped = orjson.loads(default_head().read_bytes())
    with pytest.raises(GuardModelError, match="poolings: unknown pooling 'mean:9'"):
        ContextualPromptGuard(base, {**shipped, "poolings": ["mean:6", "mean:9"]}, "0" * 64, encoder)
    # Two poolings are 768 numbers; the shipped head reads the 384 of the sentence embedding.
    with pytest.raises(GuardModelError, match="coef has \\[384\\] numbers, the encoder gives 768"):
        ContextualPromptGuard(base, {**shipped, "poolings": ["mean:6", "mean:3"]}, "0" * 64, encoder)
