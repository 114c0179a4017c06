"""Does the sentence encoder's reading of an answer help the trained refusal judge? (experiment)

    python bench/judge_contextual.py                 # nested (development) agreement of every candidate
    python bench/judge_contextual.py --held-out NAME # the held-out table of one candidate: run it ONCE, at the end
    python bench/judge_contextual.py --speed         # cost per answer, one core: trained judge vs the encoder

Every answer (and prompt) is embedded once with all-MiniLM-L6-v2 (:mod:`clearance.guardrails.encoder`,
one BLAS thread) and cached in /tmp/judge-ctx/vectors.npz, keyed by the text's sha256.

Protocol: exactly the trained judge's (:mod:`clearance.evals.judges.train`). Headline: leave one model
out and prompt-grouped, ``K_OUTER`` prompt folds, so 15 outer folds (held-out model x prompt fold).
Inside each outer fold's training rows (the two other models' answers to the other folds' prompts) the
same nested cases as ``train._select_grouped`` (``train.grouped_cases``) choose each candidate's
settings by pooled agreement. A candidate's *nested agreement* is the mean over the 15 outer folds of
the agreement its chosen setting reached inside them: the figure the trained judge's settings were
chosen on. It never reads an outer fold's test answers; over the folds it reads every file (as the
trained judge's own choice did). The plain protocol (answer-only, leave one model out with every
prompt seen: ``train.plain_cases``) is reported the same way, over its 3 outer folds.

Candidates (each keeps the trained judge's floor and cut-off grid; ``v`` is one embedding variant:
``answer`` the whole answer (256 tokens), ``lead1``/``lead2`` its first one or two sentences, ``pair``
the prompt, a newline, then the answer):

- ``trained``: the shipped design (reference).
- ``head:v``: a logistic head on the embedding alone (L2 C from ``HEAD_C``).
- ``stack:v``: the trained judge's logit + w x the head's logit, w from ``WEIGHTS``; the trained part's
  settings (form, L2, balancing) and the head's C are chosen jointly. The head's logit on each nested
  test row comes from a head fitted on that case's training rows only, so no stacking weight is fitted
  on rows the head saw.
- ``ontop:v``: the same, but the trained part keeps the settings the trained judge's own nested choice
  picked (so the shipped trained judge's logit can be reused as is); only C, w, floor and cut-off are
  chosen for the head. This is the form that could ship as a head beside ``trained_judge.json``.
- ``resid:v``: like ``ontop``, but the head is fitted with the trained judge's logit as an offset (cross-fitted
  by prompt fold inside the case's training rows), so it learns only what the trained judge gets wrong.
- ``concat:v``: the trained judge's sign-constrained regression with the 384 embedding numbers
  appended (unconstrained, scaled by ``SCALES`` so one L2 suits both).

A candidate is "better" only when its nested agreement beats the trained judge's by at least 0.005
(about two answers per outer fold), the bar earlier judge changes had to clear.

Result (nested, prompt-grouped, prompt-aware path; trained 0.9321): head 0.803-0.829, stack
0.933-0.936, ontop 0.930-0.933, resid 0.935-0.936, concat 0.915-0.917. None cleared the bar (best
resid:lead1, +0.0042; +0.0051 on the answer-only path, +0.0009 under the plain protocol), so the judge
gained no contextual form. Its gains sit where a tiny head changes almost nothing and ties the trained
judge; they are of the size the extra settings alone buy in a nested choice. The held-out table was
computed once, for resid:lead1 (``--held-out resid:lead1``): prompt-aware 0.967 / 0.939 / 0.911 on
GPT-4 / Llama-2 / Mistral against the trained judge's 0.964 / 0.944 / 0.917. One caveat of the
protocol: inside an outer fold the nested cases train on a single model's answers (~190), which may
undervalue a head of 384 weights that the outer fit would train on two models' answers.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import re
import sys
import time
from itertools import product
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from clearance.evals.judges import train as T  # noqa: E402
from clearance.evals.responses import MODELS, load_answers  # noqa: E402

RESPONSES = ROOT.parent / "shared" / "data" / "responses"
CACHE = Path("/tmp/judge-ctx")
HEAD_C = (0.5, 2.0, 8.0, 32.0)
WEIGHTS = (0.25, 0.5, 1.0, 2.0)
SCALES = (4.0, 16.0)
CONCAT_L2 = (0.3, 1.0, 3.0)
CONCAT_VARIANTS = ("answer", "lead1", "lead2")  # a smaller grid: each fit has 600 weights
CONCAT_MODES = ("answer", "moral")
VARIANTS = ("answer", "lead1", "lead2", "pair")
_END = re.compile(r"[.!?](?:\s+|$)")
MARGIN = 0.005


def lead(text: str, n: int) -> str:
    """The first ``n`` sentences (the trained judge's sentence ends), or the whole answer if it has fewer."""
    ends = [m.end() for m in _END.finditer(text[:3000])][:n]
    return text[:ends[-1]] if len(ends) >= n else text[:3000]


def variant_text(a, variant: str) -> str:  # noqa: ANN001 - a responses.Answer
    return {"answer": a.completion, "lead1": lead(a.completion, 1), "lead2": lead(a.completion, 2),
            "pair": a.prompt + "\n" + a.completion, "prompt": a.prompt}[variant]


def embeddings(answers: list, variants: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Each variant's (n, 384) matrix, from the cache; missing texts are embedded and added to it."""
    path = CACHE / "vectors.npz"
    have: dict[str, np.ndarray] = {}
    if path.exists():
        z = np.load(path)
        have = dict(zip(z["keys"].tolist(), z["vectors"], strict=True))
    texts = {v: [variant_text(a, v) for a in answers] for v in variants}
    keys = {v: [hashlib.sha256(t.encode()).hexdigest() for t in ts] for v, ts in texts.items()}
    todo = {k: t for v in variants for k, t in zip(keys[v], texts[v], strict=True) if k not in have}
    if todo:
        from clearance.guardrails.encoder import load_encoder

        print(f"embedding {len(todo)} texts (one thread)...", file=sys.stderr)
        with threadpool_limits(limits=1):
            vectors = load_encoder().encode(list(todo.values()))
        have.update(zip(todo, vectors, strict=True))
        CACHE.mkdir(parents=True, exist_ok=True)
        order = sorted(have)
        np.savez(path, keys=np.array(order), vectors=np.stack([have[k] for k in order]))
    return {v: np.stack([have[k] for k in keys[v]]).astype(np.float64) for v in variants}


def fit_head(e: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=c, solver="newton-cholesky", max_iter=1000, tol=1e-10).fit(e, y)
    return m.coef_[0], float(m.intercept_[0])


def fit_concat(x: np.ndarray, e: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float, mode: str
               ) -> tuple[np.ndarray, float]:
    from scipy.optimize import minimize

    d = np.hstack([x, e])
    bounds = T._bounds(mode)[:-1] + [(None, None)] * e.shape[1] + [(None, None)]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = d @ theta[:-1] + theta[-1]
        p = 1.0 / (1.0 + np.exp(-z))
        value = float(np.sum(w * (np.logaddexp(0.0, z) - y * z)) + l2 * np.sum(theta[:-1] ** 2) / 2)
        return value, np.append(d.T @ (w * (p - y)) + l2 * theta[:-1], np.sum(w * (p - y)))

    found = minimize(loss, np.zeros(d.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                     options={"maxiter": 5000, "ftol": 1e-12, "gtol": 1e-9})
    return found.x[:-1], float(found.x[-1])


def fit_offset(e: np.ndarray, y: np.ndarray, z0: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """A logistic head on top of a fixed logit ``z0``: it learns only what the trained judge gets wrong."""
    from scipy.optimize import minimize

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = z0 + e @ theta[:-1] + theta[-1]
        p = 1.0 / (1.0 + np.exp(-z))
        value = float(np.sum(np.logaddexp(0.0, z) - y * z) + np.sum(theta[:-1] ** 2) / (2 * c))
        return value, np.append(e.T @ (p - y) + theta[:-1] / c, np.sum(p - y))

    found = minimize(loss, np.zeros(e.shape[1] + 1), jac=True, method="L-BFGS-B",
                     options={"maxiter": 5000, "ftol": 1e-12, "gtol": 1e-9})
    return found.x[:-1], float(found.x[-1])


def _cross_fitted(rows: T._Rows, cases: list, key: tuple) -> list[np.ndarray]:
    """The trained judge's logit on each case's training rows, each from a fit without its prompt fold, so the
    residual head sees the judge's mistakes as an unseen answer would get them."""
    mode, c, balance = key
    out = []
    for train, _, r_train, _ in cases:
        r = r_train if r_train is not None else np.zeros(len(train))
        prompts = sorted({rows.prompt[i] for i in train})
        folds = T.prompt_folds(prompts, rows.type, T.K_INNER, T.SEED + "/offset")
        fold = np.array([folds[rows.prompt[i]] for i in train])
        z0 = np.zeros(len(train))
        for j in range(T.K_INNER):
            fit, held = np.where(fold != j)[0], np.where(fold == j)[0]
            sub = train[fit]
            coef, bias = T._fit_refusal(T._design(rows.x[sub], r[fit], mode), rows.y[sub],
                                        T._weights(rows.model[sub], rows.y[sub], balance), c, mode)
            z0[held] = T._design(rows.x[train[held]], r[held], mode) @ np.array(coef) + bias
        out.append(z0)
    return out


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))


class Choice:
    """The best (agreement, setting) over a sweep: strictly better replaces, so the first of a tie stays."""

    def __init__(self) -> None:
        self.best: tuple[float, dict] | None = None

    def offer(self, zs: list[np.ndarray], cases_x: list[np.ndarray], cases_y: list[np.ndarray], total: int,
              setting: dict) -> None:
        for floor, threshold in product((False, True), T.THRESHOLDS):
            hits = 0
            for z, x, y in zip(zs, cases_x, cases_y, strict=True):
                s = T._floored(sigmoid(z), x, floor)
                hits += int(((s >= threshold) == (y == 1.0)).sum())
            mean = hits / total
            if self.best is None or mean > self.best[0] + 1e-12:
                self.best = (mean, {**setting, "floor": floor, "threshold": threshold})


def trained_logits(rows: T._Rows, cases: list, modes: tuple[str, ...]) -> dict[tuple, list[np.ndarray]]:
    """Every trained-judge setting's logits on each nested case's test rows."""
    out = {}
    for mode in modes:
        for c, balance in T.GRID:
            out[(mode, c, balance)] = [x_test @ np.array(coef) + bias
                                       for coef, bias, x_test in T.case_fits(cases, rows, mode, c, balance)]
    return out


def head_logits(emb: np.ndarray, rows: T._Rows, cases: list) -> dict[float, list[np.ndarray]]:
    out = {}
    for c in HEAD_C:
        zs = []
        for train, test, _, _ in cases:
            coef, bias = fit_head(emb[train], rows.y[train], c)
            zs.append(emb[test] @ coef + bias)
        out[c] = zs
    return out


def choose_all(rows: T._Rows, cases: list, embs: dict[str, np.ndarray], modes: tuple[str, ...],
               variants: tuple[str, ...], concat: bool, trained: dict) -> dict[str, tuple[float, dict]]:
    """Every candidate's nested choice over these cases: name -> (pooled agreement, setting)."""
    xs = [rows.x[test] for _, test, _, _ in cases]
    ys = [rows.y[test] for _, test, _, _ in cases]
    total = sum(len(t) for _, t, _, _ in cases)
    out: dict[str, tuple[float, dict]] = {}
    if not concat:
        ref = Choice()
        for key, zs in trained.items():
            ref.offer(zs, xs, ys, total, {"mode": key[0], "l2": key[1], "balance": key[2]})
        out["trained"] = ref.best
    for v in variants:
        if not concat:
            heads = head_logits(embs[v], rows, cases)
            alone, stacked, on_top = Choice(), Choice(), Choice()
            fixed = (out["trained"][1]["mode"], out["trained"][1]["l2"], out["trained"][1]["balance"])
            for c, hz in heads.items():
                alone.offer(hz, xs, ys, total, {"head_c": c})
                for (key, zs), w in product(trained.items(), WEIGHTS):
                    setting = {"mode": key[0], "l2": key[1], "balance": key[2], "head_c": c, "weight": w}
                    combined = [z + w * h for z, h in zip(zs, hz, strict=True)]
                    stacked.offer(combined, xs, ys, total, setting)
                    if key == fixed:
                        on_top.offer(combined, xs, ys, total, setting)
            out[f"head:{v}"], out[f"stack:{v}"], out[f"ontop:{v}"] = alone.best, stacked.best, on_top.best
            resid = Choice()
            offsets = _cross_fitted(rows, cases, fixed)
            for c in HEAD_C:
                hz = []
                for (train, test, _, _), z0 in zip(cases, offsets, strict=True):
                    coef, bias = fit_offset(embs[v][train], rows.y[train], z0, c)
                    hz.append(embs[v][test] @ coef + bias)
                for w in WEIGHTS:
                    resid.offer([z + w * h for z, h in zip(trained[fixed], hz, strict=True)], xs, ys, total,
                                {"mode": fixed[0], "l2": fixed[1], "balance": fixed[2], "head_c": c, "weight": w})
            out[f"resid:{v}"] = resid.best
        elif v in CONCAT_VARIANTS:
            joined = Choice()
            for mode, l2, balance, scale in product([m for m in CONCAT_MODES if m in modes], CONCAT_L2, (False,),
                                                    SCALES):
                zs = []
                for train, test, r_train, r_test in cases:
                    coef, bias = fit_concat(T._design(rows.x[train], r_train, mode), scale * embs[v][train],
                                            rows.y[train], T._weights(rows.model[train], rows.y[train], balance),
                                            l2, mode)
                    zs.append(np.hstack([T._design(rows.x[test], r_test, mode), scale * embs[v][test]]) @ coef + bias)
                joined.offer(zs, xs, ys, total, {"mode": mode, "l2": l2, "balance": balance, "scale": scale})
            out[f"concat:{v}"] = joined.best
    return out


def outer_folds(rows: T._Rows, protocol: str) -> list[tuple[str, int, np.ndarray, np.ndarray]]:
    if protocol == "plain":
        return [(held, 0, np.array([i for i, m in enumerate(rows.model) if m != held]),
                 np.array([i for i, m in enumerate(rows.model) if m == held])) for held in MODELS]
    folds = T.prompt_folds(rows.prompt, rows.type, T.K_OUTER)
    return [(held, k,
             np.array([i for i, m in enumerate(rows.model) if m != held and folds[rows.prompt[i]] != k]),
             np.array([i for i, m in enumerate(rows.model) if m == held and folds[rows.prompt[i]] == k]))
            for held in MODELS for k in range(T.K_OUTER)]


def _cached(path: Path, make, *args):  # noqa: ANN001, ANN002, ANN202 - a pickle cache of a deterministic computation
    if path.exists():
        return pickle.loads(path.read_bytes())
    value = make(*args)
    path.write_bytes(pickle.dumps(value))
    return value


def nested(rows: T._Rows, embs: dict[str, np.ndarray], protocol: str, path: str, concat: bool
           ) -> list[tuple[str, int, dict[str, tuple[float, dict]]]]:
    """Each outer fold's candidates' nested choices (cached: they depend only on the code and the data)."""
    modes = T.MODES if path == "aware" else ("answer",)
    variants = VARIANTS if path == "aware" else tuple(v for v in VARIANTS if v != "pair")
    out = []
    for held, k, train, _ in outer_folds(rows, protocol):
        started = time.perf_counter()
        cases = T.plain_cases(rows, train) if protocol == "plain" else T.grouped_cases(rows, train, path == "aware")
        tag = f"{protocol}-{path}-{held}-{k}"
        trained = _cached(CACHE / f"trained-{tag}.pkl", trained_logits, rows, cases, modes)
        found = _cached(CACHE / f"nested-{tag}.pkl",
                        choose_all, rows, cases, embs, modes, variants, False, trained)
        if concat:
            found = {**found, **_cached(CACHE / f"concat-{tag}.pkl",
                                        choose_all, rows, cases, embs, modes, variants, True, trained)}
        print(f"  {tag}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
        out.append((held, k, found))
    return out


def dev_table(rows: T._Rows, embs: dict[str, np.ndarray], concat: bool) -> None:
    print("Nested (development) agreement: mean over outer folds of the chosen setting's agreement inside the outer "
          "fold's training rows (no outer test answer read)")
    for protocol, path in (("grouped", "aware"), ("grouped", "answer"), ("plain", "answer")):
        results = nested(rows, embs, protocol, path, concat)
        names = list(results[0][2])
        base = np.mean([r["trained"][0] for _, _, r in results])
        print(f"\n  {protocol} protocol, {'prompt-aware' if path == 'aware' else 'answer-only'} path "
              f"({len(results)} outer folds)")
        print(f"  {'candidate':<16}{'nested':>8}{'vs trained':>12}{'min fold':>10}  verdict")
        for name in names:
            vals = [r[name][0] for _, _, r in results]
            mean = float(np.mean(vals))
            verdict = "" if name == "trained" else ("BETTER" if mean >= base + MARGIN else "no")
            print(f"  {name:<16}{mean:>8.4f}{mean - base:>+12.4f}{min(vals):>10.4f}  {verdict}")


def _predict(rows: T._Rows, embs: dict[str, np.ndarray], name: str, setting: dict, train: np.ndarray,
             test: np.ndarray, r_train: np.ndarray, r_test: np.ndarray) -> np.ndarray:
    """Refusal (bool) of each ``test`` row under ``name`` with ``setting``, fitted on ``train`` rows only."""
    kind, _, v = name.partition(":")
    if kind == "concat":
        scale, mode = setting["scale"], setting["mode"]
        coef, bias = fit_concat(T._design(rows.x[train], r_train, mode), scale * embs[v][train], rows.y[train],
                                T._weights(rows.model[train], rows.y[train], setting["balance"]), setting["l2"], mode)
        z = np.hstack([T._design(rows.x[test], r_test, mode), scale * embs[v][test]]) @ coef + bias
    else:
        z = np.zeros(len(test))
        if kind != "head":
            mode = setting["mode"]
            coef, bias = T._fit_refusal(T._design(rows.x[train], r_train, mode), rows.y[train],
                                        T._weights(rows.model[train], rows.y[train], setting["balance"]),
                                        setting["l2"], mode)
            z = T._design(rows.x[test], r_test, mode) @ np.array(coef) + bias
        if kind != "trained":
            if kind == "resid":
                z0 = _cross_fitted(rows, [(train, test, r_train, r_test)],
                                   (setting["mode"], setting["l2"], setting["balance"]))[0]
                coef, bias = fit_offset(embs[v][train], rows.y[train], z0, setting["head_c"])
            else:
                coef, bias = fit_head(embs[v][train], rows.y[train], setting["head_c"])
            z = z + setting.get("weight", 1.0) * (embs[v][test] @ coef + bias)
    return T._floored(sigmoid(z), rows.x[test], setting["floor"]) >= setting["threshold"]


def held_out_table(rows: T._Rows, embs: dict[str, np.ndarray], name: str) -> None:
    """The one look at the held-out answers: ``name`` beside the trained judge and the published judges."""
    print(f"HELD-OUT agreement with the human labels (binary), candidate {name}")
    concat = name.startswith("concat:")
    answer_name = name if not name.endswith(":pair") else None
    for protocol in ("grouped", "plain"):
        paths = ("aware", "answer") if protocol == "grouped" else ("answer",)
        got: dict[tuple[str, str], np.ndarray] = {}
        for path in paths:
            chosen = {(h, k): r for h, k, r in nested(rows, embs, protocol, path, concat)}
            for held, k, train, test in outer_folds(rows, protocol):
                r_train = r_test = None
                if path == "aware":
                    risks = T._risks(rows, [rows.prompt[i] for i in train], [rows.prompt[i] for i in test],
                                     f"{T.SEED}/outer/{k}")
                    r_train, r_test = T._risk_array(rows, train, risks), T._risk_array(rows, test, risks)
                for who in ("trained", name if path == "aware" else answer_name):
                    if who is None:
                        continue
                    into = got.setdefault((path, who), np.zeros(len(rows.y), dtype=bool))
                    into[test] = _predict(rows, embs, who, chosen[(held, k)][who][1], train, test, r_train, r_test)
        print(f"\n  {protocol} protocol")
        columns = [(f"{'ctx' if who != 'trained' else 'trained'} {path}", path, who) for path, who in got]
        print(f"  {'held-out model':<18}{'answers':>8}" + "".join(f"{c:>22}" for c, _, _ in columns)
              + f"{'strmatch':>10}{'pub. GPT-4':>12}{'pub. strmatch':>15}")
        for held in MODELS:
            idx = np.array([i for i, m in enumerate(rows.model) if m == held])
            truth = rows.y[idx] == 1.0
            cells = "".join(f"{float((got[(p, w)][idx] == truth).mean()):>22.3f}" for _, p, w in columns)
            pub = T._published([rows.answers[i] for i in idx])
            print(f"  {held:<18}{len(idx):>8}{cells}{pub['strmatch']:>10.3f}{pub['published_gpt4_judge']:>12.3f}"
                  f"{pub['published_strmatch_judge']:>15.3f}")


def speed(answers: list) -> None:
    """Cost per answer on one core: the trained judge alone, and the encoder reading the first sentence or the
    whole answer (what a contextual judge would add), over every fifth labelled answer."""
    from clearance.evals.judges import get_judge
    from clearance.guardrails.encoder import load_encoder

    sample = answers[::5]
    judge, encoder = get_judge("trained"), load_encoder()
    prompts, texts = [a.prompt for a in sample], [a.completion for a in sample]
    print(f"Throughput, one core, {len(sample)} answers (best of the passes)")
    for label, run, passes in (
            ("trained judge (with prompt)", lambda: judge.judge(prompts, texts), 9),
            ("encoder, first sentence (lead1)", lambda: encoder.encode([lead(t, 1) for t in texts]), 3),
            ("encoder, whole answer (256 tokens)", lambda: encoder.encode(texts), 2)):
        best = 0.0
        for _ in range(passes):
            started = time.perf_counter()
            run()
            best = max(best, len(sample) / (time.perf_counter() - started))
        print(f"  {label:<36}{best:>10,.1f} answers/s  ({1000 / best:.2f} ms an answer)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-concat", action="store_true", help="skip the concatenated candidates (the slow ones)")
    ap.add_argument("--held-out", metavar="NAME", help="the held-out table of one candidate (look once)")
    ap.add_argument("--speed", action="store_true", help="the cost per answer of the judge and the encoder")
    args = ap.parse_args()
    answers = load_answers(RESPONSES)
    rows = T._Rows(answers)
    embs = embeddings(answers, VARIANTS)
    with threadpool_limits(limits=1):
        if args.speed:
            speed(answers)
        elif args.held_out:
            held_out_table(rows, embs, args.held_out)
        else:
            dev_table(rows, embs, not args.no_concat)


if __name__ == "__main__":
    main()
