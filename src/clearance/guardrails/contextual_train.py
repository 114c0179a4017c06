"""Fitting the contextual head (needs scikit-learn and the sentence encoder): development part only.

The head reads two poolings of one encoder pass, the last layer's mean over the tokens (the
sentence embedding) and the third layer's, side by side (768 numbers), through a small neural
network: one ReLU layer of 64 units and a logistic output (scikit-learn's MLPClassifier, adam,
400 epochs from a fixed seed, harmful and prohibited-domain requests against clean prompts and
questions to answer with care, classes balanced by sample weights). Its output logit, times a
weight, is added to the shipped lexical guard's harmful logit (:mod:`.contextual`). Out of fold
on the development part this caught more than the logistic head on the last layer alone
(``bench/guard_head_search.py``: 0.741 against 0.693 at the same budget; other seeds 0.746 and
0.747).

The network's L2 penalty, the weight and the threshold are chosen out of fold on the
development part, in the same five folds as the lexical guard's own choice: each development
row's lexical scores come from a lexical model that never saw it (``train.out_of_fold`` with
the shipped guard's C), its encoder logit from a head that never saw it, and the threshold is
the lowest at which every flag of the contextual reading (the lexical jailbreak and domain
labels at their shipped thresholds, plus the contextual harmful score) stays within the 2 %
budget on ordinary benign development prompts, where the lexical guard's threshold was set. The
combination with the best out-of-fold detection of harmful, prohibited-domain and jailbreak
rows is fitted on the whole development part. The held-out part is measured once, written
into the head and its model card. Alpaca rows are never read.

Same data, same machine, same bytes: everything runs on one BLAS thread. A network is not a
convex fit, though: on another CPU, embeddings 1e-7 apart (another summation order) lead adam
to other weights (in a trial, encoder logits up to 0.5 apart on development rows), as another
seed would; the record of the training embeddings' digest says which case a refit is in.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from threadpoolctl import threadpool_limits

from . import corpus, features
from . import train as lexical
from .contextual import KIND, ContextualPromptGuard, combine
from .corpus import Example
from .model import TrainedPromptGuard, default_artifact

POOLINGS = ("mean:6", "mean:3")
UNITS = 64
ALPHA_GRID = (0.001, 0.1)
WEIGHTS = (0.5, 1.0, 2.0)
EPOCHS = 400
SEED = 0
ROUND = 6


def _vectors(encoder: Any, rows: Sequence[Example]) -> np.ndarray:
    return encoder.encode_layers([features.read(e.text).text for e in rows], POOLINGS)


def _balanced(y: np.ndarray) -> np.ndarray:
    """scikit-learn's class_weight="balanced" as sample weights (MLPClassifier takes no class_weight)."""
    w = np.zeros(len(y))
    for v in (0, 1):
        w[y == v] = len(y) / (2 * max(1, int((y == v).sum())))
    return w


Head = tuple[np.ndarray, np.ndarray, np.ndarray, float]  # hidden weights, hidden bias, coef, bias


def _fit(x: np.ndarray, y: np.ndarray, alpha: float) -> Head:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    # A fixed number of adam epochs from a fixed seed (no early stopping, no tolerance stop that
    # a rounding could trip): the same inputs give the same weights. It does not converge in 400
    # epochs (scikit-learn warns); that is the head that was judged out of fold.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier((UNITS,), alpha=alpha, solver="adam", max_iter=EPOCHS, random_state=SEED,
                              early_stopping=False, tol=1e-6, n_iter_no_change=20).fit(
            x.astype(np.float64), y, sample_weight=_balanced(y))
    (w1, w2), (b1, b2) = model.coefs_, model.intercepts_
    return w1, b1, w2[:, 0], float(b2[0])


def _logits(head: Head, x: np.ndarray) -> np.ndarray:
    w1, b1, coef, bias = head
    return np.maximum(x @ w1 + b1, 0.0) @ coef + bias


def _harmful_rows(rows: Sequence[Example]) -> tuple[np.ndarray, np.ndarray]:
    cls = np.array([e.cls for e in rows])
    return cls != "jailbreak", np.isin(cls, ["harmful", "prohibited-domain"]).astype(int)


def encoder_out_of_fold(rows: Sequence[Example], x: np.ndarray, alpha: float) -> np.ndarray:
    """Each row's encoder-head logit from a head fitted without its fold (the lexical guard's folds)."""
    from sklearn.model_selection import StratifiedKFold

    strata = np.array([e.cls for e in rows])
    mask, y = _harmful_rows(rows)
    out = np.zeros(len(rows))
    for train_idx, test_idx in StratifiedKFold(lexical.FOLDS, shuffle=True, random_state=0).split(strata, strata):
        part = train_idx[mask[train_idx]]
        out[test_idx] = _logits(_fit(x[part], y[part], alpha), x[test_idx])
    return out


def choose(rows: Sequence[Example], lexical_scores: dict[str, Any], cut: dict[str, float], encoded: dict[float, Any]
           ) -> tuple[float, float, float, float]:
    """(setting, weight, threshold, out-of-fold recall): the combination that detects most within the budget."""
    benign = lexical.ordinary_benign(rows)
    bad = np.array([e.cls in ("harmful", "prohibited-domain", "jailbreak") for e in rows])
    # The lexical jailbreak and domain labels stand in the contextual reading; the harmful label is
    # the contextual score's, so the budget left by the other two is its own (as in lexical.thresholds).
    others = (lexical_scores["jailbreak"] >= cut["jailbreak"]) | (lexical_scores["domain"] >= cut["prohibited-domain"])
    best: tuple[float, float, float, float] | None = None
    for setting, enc in encoded.items():
        for weight in WEIGHTS:
            q = np.array([combine(float(p), float(e), weight) for p, e in zip(lexical_scores["harmful"], enc, strict=True)])
            free, allowed = lexical.harmful_budget(q, benign, others)
            threshold = float(free[max(0, allowed)] + 1e-6) if allowed >= 0 and len(free) > allowed else 1.0
            threshold = round(min(threshold, 1.0), ROUND)
            recall = float((others | (q >= threshold))[bad].mean())
            if best is None or recall > best[3]:
                best = (setting, weight, threshold, recall)
    assert best is not None
    return best


def fit_head(dev: Sequence[Example], encoder: Any, base_artifact: dict[str, Any], base: TrainedPromptGuard
             ) -> dict[str, Any]:
    # One BLAS thread for the embeddings and the fits: another summation order moves the network's weights.
    with threadpool_limits(limits=1):
        rows = corpus.trainable(dev)
        found = lexical.featurize([e.text for e in rows])
        lexical_scores, _ = lexical.out_of_fold(rows, found, float(base_artifact["hyperparameters"]["C"]))
        cut = base.thresholds  # the shipped lexical thresholds: the contextual reading adds to the shipped guard
        x = _vectors(encoder, rows)
        encoded = {a: encoder_out_of_fold(rows, x, a) for a in ALPHA_GRID}
        alpha, weight, threshold, recall = choose(rows, lexical_scores, cut, encoded)
        mask, y = _harmful_rows(rows)
        w1, b1, coef, bias = _fit(x[mask], y[mask], alpha)
    return {
        "kind": KIND,
        "base_guard": base.version,
        "encoder": {"name": encoder.name, "sha256": encoder.digest},
        "poolings": list(POOLINGS),
        "hidden": {"weights": [[round(float(v), ROUND) for v in row] for row in w1],
                   "bias": [round(float(v), ROUND) for v in b1]},
        "coef": [round(float(v), ROUND) for v in coef],
        "bias": round(bias, ROUND),
        "weight": weight,
        "threshold": threshold,
        "hyperparameters": {"model": "mlp", "units": UNITS, "activation": "relu", "alpha": alpha,
                            "alpha_grid": list(ALPHA_GRID), "weights": list(WEIGHTS), "solver": "adam",
                            "epochs": EPOCHS, "seed": SEED, "class_weight": "balanced", "folds": lexical.FOLDS,
                            "fpr_target": lexical.FPR_TARGET["any"]},
        # Which embeddings the network was fitted on: a refit on other ones (another CPU) is another network.
        "embeddings_sha256": hashlib.sha256(np.ascontiguousarray(x, dtype="<f4").tobytes()).hexdigest(),
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
