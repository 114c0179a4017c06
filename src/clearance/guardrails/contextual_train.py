"""Fitting the contextual head (needs scikit-learn and the sentence encoder): development part only.

The head is a logistic regression on the encoder's 384 numbers (harmful and prohibited-domain
requests against clean prompts and questions to answer with care, classes balanced), and a
weight that adds its logit to the shipped lexical guard's harmful logit (:mod:`.contextual`).
The head's regularisation, the weight and the threshold are chosen out of fold on the
development part, in the same five folds as the lexical guard's own choice: each development
row's lexical scores come from a lexical model that never saw it (``train.out_of_fold`` with
the shipped guard's C), its encoder logit from a head that never saw it, and the threshold is
the lowest at which every flag of the contextual reading (the lexical jailbreak and domain
labels at their shipped thresholds, plus the contextual harmful score) stays within the 2 %
budget on ordinary benign development prompts, where the lexical guard's threshold was set. The
combination with the best out-of-fold detection of harmful, prohibited-domain and jailbreak
rows is fitted on the whole development part. The held-out part is measured once, written
into the head and its model card. Alpaca rows are never read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from . import corpus, features
from . import train as lexical
from .contextual import KIND, ContextualPromptGuard, combine
from .corpus import Example
from .model import TrainedPromptGuard, default_artifact

C_GRID = (0.3, 1.0, 3.0)
WEIGHTS = (0.5, 1.0, 2.0)
ROUND = 6


def _vectors(encoder: Any, rows: Sequence[Example]) -> np.ndarray:
    return encoder.encode([features.read(e.text).text for e in rows])


def _fit(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    # Newton's method to a tight tolerance: the optimum is unique, so the fit lands on it (lbfgs
    # stopped where its path took it, and a 1e-7 change in the embeddings moved coefficients 5e-4).
    model = LogisticRegression(C=c, class_weight="balanced", solver="newton-cholesky", max_iter=1000,
                               tol=1e-10).fit(x.astype(np.float64), y)
    return model.coef_[0], float(model.intercept_[0])


def _harmful_rows(rows: Sequence[Example]) -> tuple[np.ndarray, np.ndarray]:
    cls = np.array([e.cls for e in rows])
    return cls != "jailbreak", np.isin(cls, ["harmful", "prohibited-domain"]).astype(int)


def encoder_out_of_fold(rows: Sequence[Example], x: np.ndarray, c: float) -> np.ndarray:
    """Each row's encoder-head logit from a head fitted without its fold (the lexical guard's folds)."""
    from sklearn.model_selection import StratifiedKFold

    strata = np.array([e.cls for e in rows])
    mask, y = _harmful_rows(rows)
    out = np.zeros(len(rows))
    for train_idx, test_idx in StratifiedKFold(lexical.FOLDS, shuffle=True, random_state=0).split(strata, strata):
        part = train_idx[mask[train_idx]]
        coef, bias = _fit(x[part], y[part], c)
        out[test_idx] = x[test_idx] @ coef + bias
    return out


def choose(rows: Sequence[Example], lexical_scores: dict[str, Any], cut: dict[str, float], encoded: dict[float, Any]
           ) -> tuple[float, float, float, float]:
    """(C, weight, threshold, out-of-fold recall): the combination that detects most within the budget."""
    benign = lexical.ordinary_benign(rows)
    bad = np.array([e.cls in ("harmful", "prohibited-domain", "jailbreak") for e in rows])
    # The lexical jailbreak and domain labels stand in the contextual reading; the harmful label is
    # the contextual score's, so the budget left by the other two is its own (as in lexical.thresholds).
    others = (lexical_scores["jailbreak"] >= cut["jailbreak"]) | (lexical_scores["domain"] >= cut["prohibited-domain"])
    best: tuple[float, float, float, float] | None = None
    for c, enc in encoded.items():
        for weight in WEIGHTS:
            q = np.array([combine(float(p), float(e), weight) for p, e in zip(lexical_scores["harmful"], enc, strict=True)])
            free, allowed = lexical.harmful_budget(q, benign, others)
            threshold = float(free[max(0, allowed)] + 1e-6) if allowed >= 0 and len(free) > allowed else 1.0
            threshold = round(min(threshold, 1.0), ROUND)
            recall = float((others | (q >= threshold))[bad].mean())
            if best is None or recall > best[3]:
                best = (c, weight, threshold, recall)
    assert best is not None
    return best


def fit_head(dev: Sequence[Example], encoder: Any, base_artifact: dict[str, Any], base: TrainedPromptGuard
             ) -> dict[str, Any]:
    rows = corpus.trainable(dev)
    found = lexical.featurize([e.text for e in rows])
    lexical_scores, _ = lexical.out_of_fold(rows, found, float(base_artifact["hyperparameters"]["C"]))
    cut = base.thresholds  # the shipped lexical thresholds: the contextual reading adds to the shipped guard
    x = _vectors(encoder, rows)
    encoded = {c: encoder_out_of_fold(rows, x, c) for c in C_GRID}
    c, weight, threshold, recall = choose(rows, lexical_scores, cut, encoded)
    mask, y = _harmful_rows(rows)
    coef, bias = _fit(x[mask], y[mask], c)
    return {
        "kind": KIND,
        "base_guard": base.version,
        "encoder": {"name": encoder.name, "sha256": encoder.digest},
        "coef": [round(float(v), ROUND) for v in coef],
        "bias": round(bias, ROUND),
        "weight": weight,
        "threshold": threshold,
        "hyperparameters": {"C": c, "C_grid": list(C_GRID), "weights": list(WEIGHTS), "solver": "newton-cholesky",
                            "class_weight": "balanced", "folds": lexical.FOLDS, "fpr_target": lexical.FPR_TARGET["any"]},
        "out_of_fold_recall": round(recall, 4),
    }


def train_head(data: Path, out: Path, encoder: Any, card: Path | None = None) -> dict[str, Any]:
    """Fit the head on the development part, measure the contextual reading on the held-out part, write it."""
    from .quality import held_out_report
    from .report import contextual_card

    base_raw = default_artifact().read_bytes()
    base_artifact = orjson.loads(base_raw)
    base = TrainedPromptGuard(base_artifact, hashlib.sha256(base_raw).hexdigest())
    dev, test = corpus.split(corpus.load(data))
    head = fit_head(dev, encoder, base_artifact, base)
    head["training_data"] = {"sha256": lexical.data_hashes(data),
                             "split": {"seed": corpus.SEED, "test_share": corpus.TEST_SHARE}}
    guard = ContextualPromptGuard(base, head, hashlib.sha256(lexical.to_bytes(head)).hexdigest(), encoder)
    head["held_out"] = {"contextual": held_out_report(guard, test), "lexical": held_out_report(base, test)}
    raw = lexical.to_bytes(head)  # the same serialisation as the lexical artifact
    out.write_bytes(raw)
    if card is not None:
        card.write_text(contextual_card(head, hashlib.sha256(raw).hexdigest()))
    return head
