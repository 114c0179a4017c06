"""How much a prompt reads as a request for harm: the prompt-aware judge's one reading of the prompt.

A small logistic model over the prompt's words and word pairs, trained only on the prompts of
the judge's own training rows, with their XSTest ``type`` as the target (types starting with
``contrast_`` are the unsafe requests). It is deliberately not the shipped prompt guard: that
guard was trained on XSTest prompts, so its scores on the judge's evaluation prompts would leak.

Only n-grams found in at least two training prompts are kept, so the model cannot memorise one
prompt and the artifact stays small. Weights are rounded when fitted and the runtime reads the
rounded ones, so training and judging compute the very same risk.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
MIN_PROMPTS = 2  # an n-gram must occur in this many training prompts to get a weight
STRENGTH = 1.0  # scikit-learn's C, fixed (0.3 and 3 scored no better on the nested agreement)


def ngrams(prompt: str) -> list[str]:
    """The prompt's distinct words and word pairs, in reading order (so sums over them are reproducible)."""
    words = _WORD.findall(prompt.lower().replace("\u2019", "'"))
    return list(dict.fromkeys([*words, *(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))]))


def fit(prompts: Sequence[str], unsafe: Sequence[bool]) -> dict[str, Any]:
    """The risk model of these prompts (each prompt once) and whether each is an unsafe request."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    grams = [ngrams(p) for p in prompts]
    counts = Counter(g for gs in grams for g in gs)
    vocab = sorted(g for g, n in counts.items() if n >= MIN_PROMPTS)
    index = {g: i for i, g in enumerate(vocab)}
    rows, cols = [], []
    for i, gs in enumerate(grams):
        for g in gs:
            if g in index:
                rows.append(i)
                cols.append(index[g])
    x = csr_matrix(([1.0] * len(rows), (rows, cols)), shape=(len(prompts), len(vocab)))
    model = LogisticRegression(C=STRENGTH, max_iter=5000, tol=1e-8).fit(x, list(unsafe))
    weights = {g: round(float(w), 4) for g, w in zip(vocab, model.coef_[0], strict=True) if round(float(w), 4)}
    return {"ngrams": weights, "intercept": round(float(model.intercept_[0]), 4), "min_prompts": MIN_PROMPTS,
            "c": STRENGTH}


def risk(model: dict[str, Any], prompt: str) -> float:
    """Probability that the prompt is an unsafe request, under ``model``."""
    weights = model["ngrams"]
    z = model["intercept"] + sum(weights.get(g, 0.0) for g in ngrams(prompt))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))
