"""Searching for a better contextual head, out of fold on the development part only.

    python bench/guard_head_search.py encode   # cache the encoder's poolings of every development row
    python bench/guard_head_search.py search   # every candidate's out-of-fold detection at the 2 % budget
    python bench/guard_head_search.py noise    # how much of the differences is noise (paired bootstrap)
    python bench/guard_head_search.py encode --alpaca && python bench/guard_head_search.py alpaca

Each candidate is judged exactly as ``contextual_train.choose`` judges the shipped head: the
lexical guard's out-of-fold scores (its own five folds and C), the candidate's out-of-fold
encoder logit in the same folds, every weight of ``contextual_train.WEIGHTS``, and the lowest
threshold at which the contextual reading's flags (with the lexical jailbreak and domain
labels) stay within 2 % of the ordinary benign development prompts; the figure is the share of
harmful, prohibited-domain and jailbreak development rows flagged. No held-out row is encoded or
read, and Alpaca is not read by ``search`` or ``noise``; ``encode --alpaca`` then ``alpaca`` report,
after the choice, the previous and the chosen head's false-positive rate on the development
Alpaca rows (scored by fold models that never saw them, as ``bench/guardrails.py --dev`` does).

Result (README, "The contextual reading"): the last and third layers' mean poolings through a
ReLU layer of 64 units, 0.741 against the previous logistic head's 0.693; the logistic variants
were all within the noise of the 2 % budget (9 of 468 benign rows).

The poolings come from one forward pass (``SentenceEncoder.encode_layers``) and are cached in
/tmp/guard-head/ keyed by the sha256 of the text the encoder reads, so reruns do not encode.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from clearance.evals.prompts import data_dir
from clearance.guardrails import contextual_train, corpus, features
from clearance.guardrails import train as lexical
from clearance.guardrails.model import default_artifact, load_prompt_guard

CACHE = Path(os.environ.get("GUARD_HEAD_CACHE", "/tmp/guard-head"))
POOLINGS = ("mean:0", "mean:1", "mean:2", "mean:3", "mean:4", "mean:5", "mean:6", "max:3", "max:6", "cls:3", "cls:6")
HIDDEN = 384


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rows(alpaca: bool = False) -> list[corpus.Example]:
    dev, _ = corpus.split(corpus.load(data_dir(None)))
    return [e for e in dev if e.cls == "alpaca"] if alpaca else corpus.trainable(dev)


def encode(alpaca: bool) -> None:
    from clearance.guardrails.encoder import load_encoder

    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / ("alpaca-dev.npz" if alpaca else "dev.npz")
    texts = sorted({features.read(e.text).text for e in _rows(alpaca)})
    enc = load_encoder()
    start = time.process_time()
    with threadpool_limits(limits=1):
        x = enc.encode_layers(texts, POOLINGS)
    print(f"{len(texts)} texts, {time.process_time() - start:.0f} s CPU", file=sys.stderr)
    np.savez(out, keys=np.array([_key(t) for t in texts]), x=x, poolings=np.array(POOLINGS), digest=enc.digest)


def cached(rows: list[corpus.Example], name: str = "dev.npz") -> np.ndarray:
    with np.load(CACHE / name) as z:
        assert tuple(z["poolings"]) == POOLINGS, "the cache has other poolings: encode again"
        where = {k: i for i, k in enumerate(z["keys"])}
        return z["x"][[where[_key(features.read(e.text).text)] for e in rows]]


def block(x: np.ndarray, *names: str) -> np.ndarray:
    return np.hstack([x[:, POOLINGS.index(n) * HIDDEN:(POOLINGS.index(n) + 1) * HIDDEN] for n in names])


def lexical_scores(rows: list[corpus.Example]) -> dict[str, np.ndarray]:
    """The lexical guard's out-of-fold scores at the shipped C (cached: liblinear takes a minute)."""
    path = CACHE / "lexical-oof.npz"
    keys = np.array([_key(e.cls + "\0" + e.text) for e in rows])
    if path.exists():
        with np.load(path) as z:
            if np.array_equal(z["keys"], keys):
                return {k: z[k] for k in ("harmful", "jailbreak", "domain")}
    artifact = json.loads(default_artifact().read_bytes())
    scores, _ = lexical.out_of_fold(rows, lexical.featurize([e.text for e in rows]),
                                    float(artifact["hyperparameters"]["C"]))
    np.savez(path, keys=keys, **scores)
    return scores


def balanced(y: np.ndarray) -> np.ndarray:
    """scikit-learn's class_weight="balanced" as sample weights."""
    w = np.zeros(len(y))
    for v in (0, 1):
        w[y == v] = len(y) / (2 * max(1, int((y == v).sum())))
    return w


def by_source(rows: list[corpus.Example], y: np.ndarray) -> np.ndarray:
    """Each class half the weight, and within a class each set (source) an equal share of it."""
    sets = np.array([e.set if e.cls != "care" else "care" for e in rows])
    w = np.zeros(len(y))
    for v in (0, 1):
        groups = sorted(set(sets[y == v]))
        for g in groups:
            m = (y == v) & (sets == g)
            w[m] = len(y) / (2 * len(groups) * m.sum())
    return w


def logistic(c: float):  # noqa: ANN201
    def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray):  # noqa: ANN202
        from sklearn.linear_model import LogisticRegression

        m = LogisticRegression(C=c, solver="newton-cholesky", max_iter=1000, tol=1e-10).fit(
            x.astype(np.float64), y, sample_weight=w)
        coef, bias = m.coef_[0], float(m.intercept_[0])
        return lambda z: z @ coef + bias
    return fit


def mlp(hidden: int, alpha: float):  # noqa: ANN201
    def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray):  # noqa: ANN202
        from sklearn.neural_network import MLPClassifier

        m = MLPClassifier((hidden,), alpha=alpha, max_iter=400, random_state=0, early_stopping=False,
                          solver="adam", tol=1e-6, n_iter_no_change=20).fit(x.astype(np.float64), y, sample_weight=w)
        (w1, w2), (b1, b2) = m.coefs_, m.intercepts_

        def raw(z: np.ndarray) -> np.ndarray:  # the output unit's logit: numpy only, as shipped
            return (np.maximum(z @ w1 + b1, 0.0) @ w2 + b2)[:, 0]
        return raw
    return fit


def mlp_seed(hidden: int, alpha: float, seed: int):  # noqa: ANN201
    """The MLP with another initialisation: to see how much of its figure is the seed's."""
    def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray):  # noqa: ANN202
        from sklearn.neural_network import MLPClassifier

        m = MLPClassifier((hidden,), alpha=alpha, max_iter=400, random_state=seed, early_stopping=False,
                          solver="adam", tol=1e-6, n_iter_no_change=20).fit(x.astype(np.float64), y, sample_weight=w)
        (w1, w2), (b1, b2) = m.coefs_, m.intercepts_
        return lambda z: (np.maximum(z @ w1 + b1, 0.0) @ w2 + b2)[:, 0]
    return fit


def random_fourier(features_: int, gamma: float, c: float):  # noqa: ANN201
    """Logistic on random Fourier features of an RBF kernel: convex, so its optimum is unique; the
    projection is drawn from numpy's legacy RandomState(0), a stream numpy keeps stable (NEP 19)."""
    def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray):  # noqa: ANN202
        rs = np.random.RandomState(0)
        proj = rs.normal(0.0, np.sqrt(2 * gamma), (x.shape[1], features_))
        shift = rs.uniform(0, 2 * np.pi, features_)

        def lift(z: np.ndarray) -> np.ndarray:
            return np.sqrt(2.0 / features_) * np.cos(z.astype(np.float64) @ proj + shift)
        inner = logistic(c)(lift(x), y, w)
        return lambda z: inner(lift(z))
    return fit


def knn(k: int):  # noqa: ANN201
    """Mean cosine similarity to the k nearest harmful training rows minus that to the k nearest others."""
    def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray):  # noqa: ANN202, ARG001
        pos, neg = x[y == 1], x[y == 0]

        def top(z: np.ndarray, ref: np.ndarray) -> np.ndarray:
            s = z @ ref.T
            return np.sort(s, axis=1)[:, -k:].mean(axis=1)
        return lambda z: 10.0 * (top(z, pos) - top(z, neg))
    return fit


def encoder_oof(rows: list[corpus.Example], x: np.ndarray, fitter, weights: str,  # noqa: ANN001
                negatives: str = "clean+care") -> np.ndarray:
    cls = np.array([e.cls for e in rows])
    mask = cls != "jailbreak"
    if negatives == "clean":
        mask &= cls != "care"
    y = np.isin(cls, ["harmful", "prohibited-domain"]).astype(int)
    out = np.zeros(len(rows))
    for train_idx, test_idx in lexical.folds(rows):
        part = train_idx[mask[train_idx]]
        w = balanced(y[part]) if weights == "balanced" else by_source([rows[i] for i in part], y[part])
        out[test_idx] = fitter(x[part], y[part], w)(x[test_idx])
    return out


def judge(rows: list[corpus.Example], lex: dict[str, np.ndarray], cut: dict[str, float], enc: np.ndarray,
          weights: tuple[float, ...] = contextual_train.WEIGHTS) -> tuple[float, float, float]:
    """(recall, weight, threshold) the way contextual_train.choose picks among weights."""
    best = contextual_train.choose(rows, lex, cut, {0.0: enc}) if weights == contextual_train.WEIGHTS else None
    if best is None:
        saved = contextual_train.WEIGHTS
        contextual_train.WEIGHTS = weights
        try:
            best = contextual_train.choose(rows, lex, cut, {0.0: enc})
        finally:
            contextual_train.WEIGHTS = saved
    return best[3], best[1], best[2]


def per_source(rows: list[corpus.Example], lex: dict[str, np.ndarray], cut: dict[str, float], enc: np.ndarray,
               weight: float, threshold: float) -> dict[str, float]:
    q = np.array([contextual_train.combine(float(p), float(e), weight) for p, e in zip(lex["harmful"], enc, strict=True)])
    flagged = (q >= threshold) | (lex["jailbreak"] >= cut["jailbreak"]) | (lex["domain"] >= cut["prohibited-domain"])
    out = {}
    for name in ("advbench", "harmbench", "jbb-harmful", "strongreject", "forbidden-questions", "donotanswer", "xstest"):
        m = np.array([e.cls == "harmful" and e.set == name for e in rows])
        out[name] = float(flagged[m].mean())
    for name, m in (("harmful+domain", np.array([e.cls in ("harmful", "prohibited-domain") for e in rows])),
                    ("jailbreak", np.array([e.cls == "jailbreak" for e in rows])),
                    ("benign", lexical.ordinary_benign(rows)),
                    ("xstest-safe", np.array([e.cls == "clean" and lexical.scary(e) for e in rows])),
                    ("care", np.array([e.cls == "care" for e in rows]))):
        out[name] = float(flagged[m].mean())
    return out


CANDIDATES = {
    # name: (poolings, fitter grid, sample weights, negatives)
    "shipped: mean6 logistic": (("mean:6",), {f"C={c}": logistic(c) for c in (0.3, 1.0, 3.0)}, "balanced", "clean+care"),
    "mean6 logistic, wider C": (("mean:6",), {f"C={c}": logistic(c) for c in (0.1, 10.0, 30.0)}, "balanced", "clean+care"),
    "mean6+mean3": (("mean:6", "mean:3"), {f"C={c}": logistic(c) for c in (0.3, 1.0, 3.0)}, "balanced", "clean+care"),
    "mean6+mean4": (("mean:6", "mean:4"), {f"C={c}": logistic(c) for c in (0.3, 1.0, 3.0)}, "balanced", "clean+care"),
    "mean6+mean5": (("mean:6", "mean:5"), {f"C={c}": logistic(c) for c in (0.3, 1.0, 3.0)}, "balanced", "clean+care"),
    "mean6+mean2": (("mean:6", "mean:2"), {f"C={c}": logistic(c) for c in (0.3, 1.0, 3.0)}, "balanced", "clean+care"),
    "mean 0-6": (tuple(f"mean:{i}" for i in range(7)), {f"C={c}": logistic(c) for c in (0.1, 0.3, 1.0, 3.0)},
                 "balanced", "clean+care"),
    "mean6+max6": (("mean:6", "max:6"), {f"C={c}": logistic(c) for c in (0.3, 1.0, 3.0)}, "balanced", "clean+care"),
    "mean6+cls6": (("mean:6", "cls:6"), {f"C={c}": logistic(c) for c in (0.3, 1.0, 3.0)}, "balanced", "clean+care"),
    "mean6+mean3+max3": (("mean:6", "mean:3", "max:3"), {f"C={c}": logistic(c) for c in (0.3, 1.0, 3.0)},
                         "balanced", "clean+care"),
    "mean6 per-source weights": (("mean:6",), {f"C={c}": logistic(c) for c in (0.3, 1.0, 3.0)}, "source", "clean+care"),
    "mean6 clean-only negatives": (("mean:6",), {f"C={c}": logistic(c) for c in (0.3, 1.0, 3.0)}, "balanced", "clean"),
    "mean6 MLP": (("mean:6",), {f"h={h},alpha={a}": mlp(h, a) for h in (32, 128) for a in (1e-3, 1e-1)},
                  "balanced", "clean+care"),
    "mean6+mean3 MLP": (("mean:6", "mean:3"), {f"h={h},alpha={a}": mlp(h, a) for h in (64,) for a in (1e-3, 1e-1)},
                        "balanced", "clean+care"),
    "mean6+mean3 MLP h=64 alpha=0.1, other seeds (a check, not a choice)": (
        ("mean:6", "mean:3"), {f"seed={r}": mlp_seed(64, 0.1, r) for r in (1, 2)}, "balanced", "clean+care"),
    "mean6+mean3 random Fourier": (("mean:6", "mean:3"), {f"D=1024,gamma={g},C={c}": random_fourier(1024, g, c)
                                                          for g in (0.5, 1.0) for c in (1.0, 10.0)},
                                   "balanced", "clean+care"),
    "mean6 kNN (not shippable: ships every training vector)": (("mean:6",), {f"k={k}": knn(k) for k in (5, 20)},
                                                               "balanced", "clean+care"),
}


CHOSEN: dict[str, tuple[np.ndarray, float, float, float, str]] = {}


def search(only: list[str] | None) -> None:
    rows = _rows()
    x = cached(rows)
    lex = lexical_scores(rows)
    cut = load_prompt_guard().thresholds
    print("| candidate | setting | weight | threshold | out-of-fold detection |")
    print("|---|---|---|---|---|")
    for name, (poolings, grid, weights, negatives) in CANDIDATES.items():
        if only and not any(o in name for o in only):
            continue
        z = block(x, *poolings)
        best = None
        for setting, fitter in grid.items():
            start = time.process_time()
            enc = encoder_oof(rows, z, fitter, weights, negatives)
            recall, weight, threshold = judge(rows, lex, cut, enc)
            print(f"| {name} | {setting} | {weight} | {threshold} | {recall:.4f} |  ({time.process_time() - start:.0f} s)",
                  flush=True)
            if best is None or recall > best[0]:
                best = (recall, setting, weight, threshold, enc)
        assert best is not None
        CHOSEN[name] = (best[4], best[2], best[3], best[0], best[1])
        src = per_source(rows, lex, cut, best[4], best[2], best[3])
        print(f"|   best of {name}: {best[1]} | " + ", ".join(f"{k} {v:.3f}" for k, v in src.items()) + " |", flush=True)
    CACHE.joinpath("oof").mkdir(exist_ok=True)
    for name, (enc, weight, threshold, recall, setting) in CHOSEN.items():
        np.savez(CACHE / "oof" / f"{_key(name)[:16]}.npz", name=name, enc=enc, weight=weight, threshold=threshold,
                 recall=recall, setting=setting)


def detection(lex: dict[str, np.ndarray], cut: dict[str, float], enc: np.ndarray, weight: float, benign: np.ndarray,
              bad: np.ndarray, idx: np.ndarray, budget: float = lexical.FPR_TARGET["any"]) -> float:
    """Detection at the budget on the rows ``idx`` (a bootstrap draw may repeat rows), threshold set on them."""
    z = np.log(np.clip(lex["harmful"], 1e-12, 1 - 1e-12) / np.clip(1 - lex["harmful"], 1e-12, 1)) + weight * enc
    q = 1 / (1 + np.exp(-np.clip(z, -60, 60)))
    others = (lex["jailbreak"] >= cut["jailbreak"]) | (lex["domain"] >= cut["prohibited-domain"])
    b, o, qq = benign[idx], others[idx], q[idx]
    allowed = int(np.floor(budget * int(b.sum()))) - int((o & b).sum())
    free = np.sort(qq[b & ~o])[::-1]
    threshold = min(free[max(0, allowed)] + 1e-6, 1.0) if allowed >= 0 and len(free) > allowed else 1.0
    return float((o | (qq >= threshold))[bad[idx]].mean())


def noise(draws: int) -> None:
    """How much of a difference in out-of-fold detection is noise: paired bootstrap of the development
    rows (each candidate keeps its chosen setting and weight; the threshold is set again on each draw),
    and detection at budgets one benign row either side of 2 %."""
    rows = _rows()
    lex = lexical_scores(rows)
    cut = load_prompt_guard().thresholds
    benign = lexical.ordinary_benign(rows)
    bad = np.array([e.cls in ("harmful", "prohibited-domain", "jailbreak") for e in rows])
    found = {}
    for f in sorted((CACHE / "oof").glob("*.npz")):
        with np.load(f) as z:
            found[str(z["name"])] = (z["enc"], float(z["weight"]), float(z["recall"]), str(z["setting"]))
    base_name = next(n for n in found if n.startswith("shipped"))
    strata = np.array([e.cls for e in rows])
    rng = np.random.default_rng(20261130)
    samples = []
    for _ in range(draws):
        samples.append(np.concatenate([rng.choice(np.flatnonzero(strata == c), int((strata == c).sum()))
                                       for c in sorted(set(strata))]))
    everything = np.arange(len(rows))
    step = 1 / int(benign.sum())
    base = [detection(lex, cut, found[base_name][0], found[base_name][1], benign, bad, i) for i in samples]
    print(f"ordinary benign development rows: {int(benign.sum())}; one row is {step:.4f} of the budget\n")
    print("| candidate | setting | OOF detection | at 2 % -1 / +1 benign row | bootstrap mean difference "
          "vs shipped [2.5 %, 97.5 %] | share of draws ahead |")
    print("|---|---|---|---|---|---|")
    for name, (enc, weight, recall, setting) in sorted(found.items(), key=lambda kv: -kv[1][2]):
        side = [detection(lex, cut, enc, weight, benign, bad, everything, lexical.FPR_TARGET["any"] + d)
                for d in (-step, step)]
        diff = np.array([detection(lex, cut, enc, weight, benign, bad, i) - b for i, b in zip(samples, base, strict=True)])
        lo, hi = np.percentile(diff, [2.5, 97.5])
        print(f"| {name} | {setting} | {recall:.4f} | {side[0]:.4f} / {side[1]:.4f} | {diff.mean():+.4f} "
              f"[{lo:+.4f}, {hi:+.4f}] | {(diff > 0).mean():.2f} |", flush=True)




def alpaca() -> None:
    """After the choice, never for it: the development Alpaca rows' false-positive rate under the previous
    head and the chosen one, each Alpaca row scored by the five fold models (averaged), as ``--dev`` does."""
    rows, extra = _rows(), _rows(alpaca=True)
    x, xa = cached(rows), cached(extra, "alpaca-dev.npz")
    artifact = json.loads(default_artifact().read_bytes())
    texts = [e.text for e in extra]
    _, outside = lexical.out_of_fold(rows, lexical.featurize([e.text for e in rows]),
                                     float(artifact["hyperparameters"]["C"]), lexical.featurize(texts),
                                     lexical.readings(texts))
    cut = load_prompt_guard().thresholds
    others = (outside["jailbreak"] >= cut["jailbreak"]) | (outside["domain"] >= cut["prohibited-domain"])
    print(f"development Alpaca rows: {len(extra)}; the lexical jailbreak and domain labels alone flag {others.mean():.4f}")
    mask, y = contextual_train.harmful_rows(rows)
    flagged = {}
    for name, poolings, fitter, weight, threshold in (
            ("previous: mean6 logistic C=3", ("mean:6",), logistic(3.0), 1.0, 0.951327),
            ("chosen: mean6+mean3 MLP h=64 alpha=0.1", ("mean:6", "mean:3"), mlp(64, 0.1), 0.5, 0.962035)):
        z, za = block(x, *poolings), block(xa, *poolings)
        enc = np.zeros(len(extra))
        for train_idx, _ in lexical.folds(rows):
            part = train_idx[mask[train_idx]]
            enc += fitter(z[part], y[part], balanced(y[part]))(za) / lexical.FOLDS
        q = np.array([contextual_train.combine(float(p), float(e), weight) for p, e in zip(outside["harmful"], enc,
                                                                                          strict=True)])
        flagged[name] = q >= threshold
        print(f"| {name} | harmful {(q >= threshold).mean():.4f} ({int((q >= threshold).sum())} rows) | "
              f"any label {(others | (q >= threshold)).mean():.4f} |")
    a, b = flagged.values()
    print(f"rows flagged harmful by both heads: {int((a & b).sum())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("encode", "search", "noise", "alpaca"))
    parser.add_argument("--alpaca", action="store_true")
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--only", nargs="*", help="candidates whose name contains one of these")
    args = parser.parse_args()
    if args.step == "encode":
        encode(args.alpaca)
    elif args.step == "alpaca":
        with threadpool_limits(limits=1):
            alpaca()
    elif args.step == "noise":
        noise(args.draws)
    else:
        with threadpool_limits(limits=1):
            search(args.only)
