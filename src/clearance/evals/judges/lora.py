"""Folding LoRA updates into the numpy sentence encoder's weights: fine-tuned layers at the frozen model's cost.

A LoRA pair (A: [rank, in], B: [out, rank], scale s) changes a linear layer's torch weight W [out, in]
to W + s B A. The numpy encoder keeps each weight transposed ([in, out], ``x @ w``) and its Q block
pre-scaled by 1/sqrt(head_dim) (see ``guardrails.encoder._Layer``), so the update is added the same
way. The base encoder is never modified: merged layers are new arrays.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

LINEARS = ("qkv", "out", "up", "down")


def delta(a: np.ndarray, b: np.ndarray, scale: float) -> np.ndarray:
    """The update s B A, transposed to the numpy encoder's [in, out] layout, in float32."""
    return (np.float32(scale) * (b.astype(np.float32) @ a.astype(np.float32))).T


def merged(layers: list[Any], tensors: dict[str, np.ndarray], scale: float, heads: int) -> list[Any]:
    """Copies of the numpy encoder's ``layers`` with ``layer.{i}.{name}.a/.b`` LoRA pairs folded in."""
    out = []
    for i, layer in enumerate(layers):
        layer = copy.copy(layer)
        for name in LINEARS:
            d = delta(tensors[f"layer.{i}.{name}.a"], tensors[f"layer.{i}.{name}.b"], scale)
            if name == "qkv":
                hidden = d.shape[0]
                d[:, :hidden] *= np.float32(1.0 / math.sqrt(hidden // heads))  # Q's score scale, as the encoder
            setattr(layer, name, np.ascontiguousarray(getattr(layer, name) + d))
        out.append(layer)
    return out
