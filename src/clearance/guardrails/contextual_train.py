"""Choosing the contextual reading's weight and threshold, and the frozen-encoder head it shipped before.

:func:`choose` is how the contextual reading is set, whatever reads the encoder: given each
development row's out-of-fold encoder logit (from a head that never saw the row, in the lexical
guard's five folds; ``train.out_of_fold`` gives the lexical scores the same way), it picks the
weight of that logit against the lexical harmful logit and the lowest threshold at which every
flag of the contextual reading (the lexical jailbreak and domain labels at their shipped
thresholds, plus the contextual harmful score) stays within the 2 % budget on ordinary benign
development prompts, where the lexical guard's threshold was set; the combination with the best
out-of-fold detection of harmful, prohibited-domain and jailbreak rows wins. The shipped reading
(an adapted encoder, :mod:`.contextual_finetune`) is chosen so.

The rest fits the head shipped before it, kept for the benches that compare against it
(``bench/guard_head_search.py``, ``bench/guard_finetune.py``): the frozen encoder's last and
third layers' mean poolings (768 numbers) through one ReLU layer of 64 units and a logistic
output (scikit-learn's MLPClassifier, adam, 400 epochs from a fixed seed, classes balanced by
sample weights); out of fold 0.7409 with the lexical logit at weight 0.5. Everything runs on one
BLAS thread; a network is not a convex fit, so embeddings 1e-7 apart (another CPU) lead adam to
other weights of the same quality, as another seed would.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import corpus, features
from . import train as lexical
from .contextual import combine
from .corpus import Example

POOLINGS = ("mean:6", "mean:3")
UNITS = 64
ALPHA_GRID = (0.001, 0.1)
WEIGHTS = (0.25, 0.5, 1.0, 2.0)
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


def harmful_rows(rows: Sequence[Example]) -> tuple[np.ndarray, np.ndarray]:
    """(the rows an encoder head is trained on, their label: harmful or prohibited-domain 1).

    All but jailbreaks and the users' requests. The users' rows are scored (out of fold) and set the
    weight and the threshold through their own budget, but the encoder never learns from them: trained
    with them, the adapter took four times as long to fit and detected less at the same budgets."""
    cls = np.array([e.cls for e in rows])
    users = np.array([e.set == corpus.USERS for e in rows], dtype=bool)
    return (cls != "jailbreak") & ~users, np.isin(cls, ["harmful", "prohibited-domain"]).astype(int)


def encoder_out_of_fold(rows: Sequence[Example], x: np.ndarray, alpha: float) -> np.ndarray:
    """Each row's encoder-head logit from a head fitted without its fold (the lexical guard's folds)."""
    mask, y = harmful_rows(rows)
    out = np.zeros(len(rows))
    for train_idx, test_idx in lexical.folds(rows):
        part = train_idx[mask[train_idx]]
        out[test_idx] = _logits(_fit(x[part], y[part], alpha), x[test_idx])
    return out


JAILBREAK_C = 1.0


def jailbreak_labels(rows: Sequence[Example]) -> np.ndarray:
    """1 for a jailbreak or injection row, 0 for every other: what the jailbreak head is trained on."""
    return np.array([e.cls == "jailbreak" for e in rows], dtype=int)


def jailbreak_out_of_fold(rows: Sequence[Example], x: np.ndarray, c: float = JAILBREAK_C) -> np.ndarray:
    """Each row's jailbreak-head logit (a logistic regression on the encoder's poolings ``x``, jailbreak and
    injection rows against all others, classes balanced) from a head fitted without its fold."""
    y = jailbreak_labels(rows)
    out = np.zeros(len(rows))
    for train_idx, test_idx in lexical.folds(rows):
        coef, bias = logistic(x[train_idx], y[train_idx], c)
        out[test_idx] = x[test_idx].astype(np.float64) @ coef + bias
    return out


def logistic(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """(coef, bias) of a logistic regression on encoder vectors, classes balanced, solved to 1e-10 by a
    deterministic Newton solver: the jailbreak head, and the harmful head's starting point."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", solver="newton-cholesky", max_iter=1000,
                               tol=1e-10).fit(x.astype(np.float64), y)
    return model.coef_[0], float(model.intercept_[0])


def choose_jailbreak(rows: Sequence[Example], lexical_jailbreak: np.ndarray, lexical_cut: float, head: np.ndarray
                     ) -> tuple[float, float, float, np.ndarray]:
    """(weight, threshold, out-of-fold detection of jailbreak rows, the rows flagged as jailbreaks): the head's logit
    added to the lexical jailbreak logit at the weight that detects most. The lexical jailbreak label stands, so
    each threshold is the lowest at which both labels together stay within the jailbreak budget on every benign
    source apart (the lexical jailbreak threshold's budget). Weight 0 (the lexical label alone) is kept when no
    weight does better within it."""
    sources = lexical.benign_sources(rows)
    jailbreak = jailbreak_labels(rows).astype(bool)
    lexical_flags = lexical_jailbreak >= lexical_cut
    best = (0.0, 1.0, float(lexical_flags[jailbreak].mean()), lexical_flags)
    for weight in WEIGHTS:
        z = np.array([combine(float(p), float(e), weight) for p, e in zip(lexical_jailbreak, head, strict=True)])
        cut = lexical.budget_cut(z, sources, lexical_flags, floor=lexical.FLOOR, step=1e-6,
                                 target=lexical.FPR_TARGET["jailbreak"])
        if cut is None:
            continue
        # Rounded to ROUND places the cut stays above the score it steps over (step 1e-6), so the budget
        # holds; a cut above 1 flags no more than the lexical label does.
        threshold = round(cut, ROUND)
        flags = lexical_flags | (z >= threshold)
        found = float(flags[jailbreak].mean())
        if found > best[2]:
            best = (weight, threshold, found, flags)
    return best


def choose(rows: Sequence[Example], lexical_scores: dict[str, Any], cut: dict[str, float], encoded: dict[float, Any],
           jailbreak: np.ndarray | None = None) -> tuple[float, float, float, float]:
    """(setting, weight, threshold, out-of-fold recall): the combination that detects most within the budget.

    ``jailbreak``: the rows the contextual jailbreak label flags, where the reading has one (else the lexical
    label's)."""
    sources = lexical.benign_sources(rows)
    bad = np.array([e.cls in ("harmful", "prohibited-domain", "jailbreak") for e in rows])
    # The lexical domain label stands in the contextual reading, and the jailbreak label is the lexical one or the
    # contextual one; the harmful label is the contextual score's, so the budget left by the others is its own
    # (as in lexical.thresholds).
    if jailbreak is None:
        jailbreak = lexical_scores["jailbreak"] >= cut["jailbreak"]
    # A sentence read alone stands too (round 8: the encoder reads the whole prompt), where it is what flags the
    # prompt: the lexical guard reads sentences only when no other reading flagged it.
    sentence = lexical.sentence_flags(lexical_scores, cut.get("sentence", lexical.SENTENCE_OFF)) & (
        lexical_scores["harmful"] < cut["harmful"])
    others = jailbreak | (lexical_scores["domain"] >= cut["prohibited-domain"]) | sentence
    best: tuple[float, float, float, float] | None = None
    for setting, enc in encoded.items():
        for weight in WEIGHTS:
            q = np.array([combine(float(p), float(e), weight) for p, e in zip(lexical_scores["harmful"], enc, strict=True)])
            cut = lexical.harmful_cut(q, sources, others, floor=0.0, step=1e-6)
            threshold = round(min(1.0 if cut is None else cut, 1.0), ROUND)
            recall = float((others | (q >= threshold))[bad].mean())
            if best is None or recall > best[3]:
                best = (setting, weight, threshold, recall)
    assert best is not None
    return best
