"""Training and leave-one-model-out evaluation of the trained judge (needs scikit-learn).

``train`` fits a multinomial logistic regression (lbfgs: deterministic, so the same data
always gives the same artifact bytes) on the features of :mod:`.features`, choosing the
regularisation and class weighting by leave-one-model-out on the training answers only.

``evaluate`` is the honest measurement: for each of the three models, the judge is tuned
and trained on the other two models' answers and tested on the held-out model's; its
binary agreement with the human ``final_label`` (compliance vs any refusal) is reported
beside the two published judges' agreement on the same rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from itertools import product
from pathlib import Path
from typing import Any

import orjson

from ..responses import MODELS, Answer, data_hashes, load_answers
from . import features
from .base import LABELS, is_refusal
from .strmatch import StringMatchJudge
from .trained import TrainedJudge

GRID = tuple(product((0.3, 1.0, 3.0), (None, "balanced")))


def _matrix(answers: Sequence[Answer]) -> Any:
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for i, a in enumerate(answers):
        for j, v in features.featurize(a.completion).items():
            rows.append(i)
            cols.append(j)
            vals.append(v)
    return csr_matrix((vals, (rows, cols)), shape=(len(answers), len(features.NAMES)))


def fit(answers: Sequence[Answer], c: float, class_weight: str | None) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight=class_weight, max_iter=5000, tol=1e-8)
    model.fit(_matrix(answers), [a.label for a in answers])
    classes = [str(k) for k in model.classes_]
    if len(classes) == 2:  # sklearn keeps one row of weights for two classes; store both, softmax-equivalent
        coef = [[-w / 2, w / 2] for w in model.coef_[0]]
        intercept = [-model.intercept_[0] / 2, model.intercept_[0] / 2]
    else:
        coef = [list(col) for col in zip(*model.coef_, strict=True)]
        intercept = list(model.intercept_)
    return {
        "kind": "clearance-refusal-judge",
        "features_version": features.VERSION,
        "classes": classes,
        "features": list(features.NAMES),
        "coef": [[round(float(w), 6) for w in row] for row in coef],
        "intercept": [round(float(b), 6) for b in intercept],
        "hyperparameters": {"C": c, "class_weight": class_weight, "solver": "lbfgs"},
    }


def _judge(artifact: dict[str, Any]) -> TrainedJudge:
    raw = _bytes(artifact)
    return TrainedJudge(artifact, hashlib.sha256(raw).hexdigest())


def agreement(judged: Sequence[str | None], answers: Sequence[Answer]) -> float:
    """Binary agreement with the humans; a missing label counts as a disagreement."""
    hits = sum(1 for j, a in zip(judged, answers, strict=True) if j is not None and is_refusal(j) == is_refusal(a.label))
    return hits / len(answers) if answers else 0.0


def _select(answers: Sequence[Answer], grid: Sequence[tuple[float, str | None]] = GRID) -> tuple[float, str | None, float]:
    """The grid point with the best mean leave-one-model-out agreement among ``answers``' models."""
    models = sorted({a.model for a in answers})
    best: tuple[float, float, str | None] | None = None
    for c, weight in grid:
        scores = []
        for held in models:
            train = [a for a in answers if a.model != held]
            test = [a for a in answers if a.model == held]
            judge = _judge(fit(train, c, weight))
            scores.append(agreement([judge.one(a.completion).label for a in test], test))
        mean = sum(scores) / len(scores)
        if best is None or mean > best[0]:
            best = (mean, c, weight)
    assert best is not None
    return best[1], best[2], best[0]


def evaluate(answers: Sequence[Answer], grid: Sequence[tuple[float, str | None]] = GRID) -> list[dict[str, Any]]:
    """One row per held-out model: agreement of each judge with the humans on its answers."""
    rows = []
    baseline = StringMatchJudge()
    for held in MODELS:
        train = [a for a in answers if a.model != held]
        test = [a for a in answers if a.model == held]
        c, weight, inner = _select(train, grid)
        judge = _judge(fit(train, c, weight))
        rows.append({
            "held_out": held,
            "n": len(test),
            "trained": round(agreement([judge.one(a.completion).label for a in test], test), 4),
            "strmatch": round(agreement([baseline.one(a.completion).label for a in test], test), 4),
            "published_gpt4_judge": round(agreement([a.gpt4_judge for a in test], test), 4),
            "published_strmatch_judge": round(agreement([a.strmatch_judge for a in test], test), 4),
            "tuned_on": [m for m in MODELS if m != held],
            "chosen": {"C": c, "class_weight": weight, "inner_agreement": round(inner, 4)},
        })
    return rows


def train(responses: Path, out: Path, card: Path | None = None,
          grid: Sequence[tuple[float, str | None]] = GRID) -> dict[str, Any]:
    """Train on every labelled answer and write the artifact (and its model card); return the artifact."""
    answers = load_answers(responses)
    table = evaluate(answers, grid)
    c, weight, inner = _select(answers, grid)
    artifact = fit(answers, c, weight)
    artifact["training_data"] = {"source": "paul-rottger/exaggerated-safety XSTest v2 completions, human final_label",
                                 "sha256": data_hashes(responses), "answers": len(answers)}
    artifact["leave_one_model_out"] = table
    artifact["labels"] = list(LABELS)
    out.write_bytes(_bytes(artifact))
    if card is not None:
        card.write_text(model_card(artifact, hashlib.sha256(_bytes(artifact)).hexdigest(), inner))
    return artifact


def _bytes(artifact: dict[str, Any]) -> bytes:
    return orjson.dumps(artifact, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def model_card(artifact: dict[str, Any], digest: str, inner: float) -> str:
    rows = "\n".join(
        f"| {r['held_out']} | {r['n']} | {r['trained']:.3f} | {r['strmatch']:.3f} | {r['published_gpt4_judge']:.3f} | "
        f"{r['published_strmatch_judge']:.3f} | C={r['chosen']['C']}, {r['chosen']['class_weight'] or 'unweighted'} |"
        for r in artifact["leave_one_model_out"]
    )
    data = "\n".join(f"- `{name}`: sha256 `{h}`" for name, h in sorted(artifact["training_data"]["sha256"].items()))
    hp = artifact["hyperparameters"]
    return f"""# Model card: clearance trained refusal judge

- **Artifact**: `trained_judge.json`, sha256 `{digest}` (judge version `trained-1:{digest[:12]}`)
- **What it does**: labels a model's answer `full-compliance`, `partial-refusal` or `full-refusal`; the
  score is the probability that the answer refuses (partial or full).
- **Model**: multinomial logistic regression (scikit-learn, lbfgs) over {len(artifact['features'])} refusal-language
  features (18 phrase families x first sentence, first two, first three, and the string-match baseline's verdict; features version
  `{artifact['features_version']}`). C={hp['C']}, class weight {hp['class_weight'] or 'none'}, chosen by
  leave-one-model-out on the training answers (mean agreement {inner:.3f}). Judging needs only the JSON.
- **Training data**: {artifact['training_data']['answers']} answers of GPT-4, Llama-2-70b-chat and Mistral-7B-Instruct
  to XSTest v2 prompts, each with a human `final_label` ({artifact['training_data']['source']}).
{data}
- **Reproduce**: `clearance eval train-judge --responses ../shared/data/responses` (same data, same bytes).

## Leave-one-model-out agreement with the human labels (binary: compliance vs any refusal)

Each row: tuned and trained on the other two models' answers, tested on the held-out model's. The published
judges' labels are the source's own, on the same rows (a missing or unparseable label counts as a disagreement).

| held-out model | answers | trained | strmatch (ours) | published GPT-4 judge | published string match | chosen on the other two |
|---|---|---|---|---|---|---|
{rows}

## Limits

- Three models' answers to one benchmark's prompts: a model whose refusals use other words (another language,
  an unusual style) may be misjudged; check a sample by hand before relying on a new model's figures.
- Partial refusals are rare in the data (75 of 1,080), so the split between partial and full refusal is less
  reliable than the binary reading the metrics use.
"""
