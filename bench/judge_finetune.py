"""Does a FINE-TUNED sentence encoder judge answers well enough to reach 0.95 on a model it never saw? (experiment)

    pip install torch==2.13.0                      # a CPU wheel, bench venv only
    python bench/judge_finetune.py                  # nested (development) agreement of every candidate
    python bench/judge_finetune.py --held-out       # the chosen candidate on the held-out models: run it ONCE
    python bench/judge_finetune.py --speed          # cost per answer, one core

Model (the training code is the shipped judge's, :mod:`clearance.evals.judges.encoder_train`):
all-MiniLM-L6-v2 rebuilt in torch (``clearance.guardrails.torch_encoder.TorchEncoder``, moved there from
bench/guard_finetune.py, which checks it against the numpy encoder), LoRA (rank ``RANK``, alpha ``2 * RANK``) on every linear layer of all six
layers (query/key/value, attention output, both feed-forward layers; the base weights, layer norms and
embeddings frozen), mean pooling to a unit vector, a linear head started from a logistic fit on the
frozen encoder's pooled vectors of the same training rows. Binary target: any refusal (full or
partial) against compliance, the reading every judge metric uses. AdamW (LoRA lr from the grid, head
1e-3), batch 16 in length-sorted batches shuffled per epoch, 10 % warm-up then linear decay over
``EPOCHS`` epochs, dropout 0.1, one torch thread, seed 0, deterministic algorithms; the logits are kept
after every epoch (the epoch is a setting: "stop after e epochs of the 3-epoch schedule").

Inputs (the answer's START: refusals are stated early): ``answer``: [CLS] the answer's first T-2
tokens [SEP]; ``pair``: [CLS] the prompt (<= 32 tokens) [SEP] the answer's first T-2 tokens [SEP].

Protocol. The trained judge's headline protocol (prompt-grouped, 15 outer folds, 6 nested cases each,
``train.grouped_cases``) would need ~105 fine-tuning fits per setting; at 0.045-0.1 s per answer per
epoch on one core that is 40-90 min per setting, so this uses the PLAIN protocol the brief allows
(``train.plain_cases``, as ``train.evaluate``): outer = leave one model out (3 folds); inside each outer
fold's training rows (two models' answers) the nested cases are leave-one-of-the-two-out, and a
setting's nested agreement is its pooled agreement over those two cases; a candidate's *nested
agreement* is the mean over the 3 outer folds of its chosen setting's. A fine-tuning fit depends only
on the one model it trains on, so the inner stage needs 3 fits per setting (each scores both other
models; an outer fold reads only its own training models' rows). The reference is the trained judge's
answer-only design chosen the same way (its ``train.GRID``, floor and cut-offs), and a candidate is
"better" only when its nested agreement beats it by at least ``MARGIN`` (+0.005, set before running).

Caveat of the plain protocol: every prompt is seen in training, answered by another model. The
answer-only trained judge reads phrase families, so it cannot memorise a prompt's topic; an encoder can
("an answer about a murder is a refusal"), which favours the encoder. The ``pair`` variant reads the
prompt verbatim, so under this protocol it could learn how a prompt was answered by the other model:
its figures are reported but are not evidence, and it is left out of the candidates' choice.

Candidates: ``trained`` (reference), ``ft`` (the fine-tuned logit alone: variant x tokens x lr x epoch,
floor, cut-off), ``ft+trained`` (the trained judge's logit, its own nested setting, + w x the fine-tuned
logit, w in ``WEIGHTS``), and the same two over the pair variant (``pair``, ``pair+trained``).

Every fit's logits are cached under /tmp/judge-ft/ (keyed by setting and training model).

Results (2026-11-30, torch 2.13.0 CPU, one thread on a shared 2-core machine; grid: answer x {64, 128}
tokens x lr {3e-4, 1e-3}, pair x 64 tokens x the same lrs, epochs 1-3, w in {0.25, 0.5, 1, 2}; 18
fine-tuning fits of one model's 360 answers, 80-240 s each). Nested agreement (bar +0.005):

| candidate | nested | vs trained | fold gpt4 | fold llama2orig | fold mistralinstruct | verdict |
|---|---|---|---|---|---|---|
| trained (answer-only, reference) | 0.9375 | +0.0000 | 0.9319 | 0.9375 | 0.9431 |  |
| ft (fine-tuned logit alone) | 0.9444 | +0.0069 | 0.9389 | 0.9486 | 0.9458 | better |
| **ft+trained** | **0.9528** | **+0.0153** | 0.9542 | 0.9500 | 0.9542 | better |
| pair | 0.9343 | -0.0032 | 0.9236 | 0.9361 | 0.9431 | no (prompt seen: not evidence) |
| pair+trained | 0.9505 | +0.0130 | 0.9514 | 0.9431 | 0.9569 | (prompt seen: not evidence) |

ft+trained chose, per outer fold: 64 tokens, lr 1e-3, 1 epoch, w 2, floor, cut-off 0.3 (gpt4 held out);
128 tokens, lr 1e-3, 1 epoch, w 2, floor, 0.35 (llama2orig); 64 tokens, lr 1e-3, 3 epochs, w 2, floor,
0.35 (mistralinstruct). w = 2 is the grid's edge in every fold. Reading the prompt (pair) does not help
the fine-tuned logit alone even with the prompt-identity leak in its favour.

Held-out (``--held-out``, run ONCE, for ft+trained, the best nested candidate; each fold's chosen
setting fitted on the two other models' 720 answers):

| held-out model | answers | trained (plain) | ft+trained | strmatch | published GPT-4 judge | published strmatch judge |
|---|---|---|---|---|---|---|
| gpt4 | 360 | 0.958 | **0.983** | 0.953 | 0.942 | 0.942 |
| llama2orig | 360 | 0.936 | 0.925 | 0.906 | 0.786 | 0.881 |
| mistralinstruct | 360 | 0.906 | **0.942** | 0.858 | 0.767 | 0.872 |

Mean 0.950 against the trained judge's 0.933 (plain) and 0.942 (its prompt-grouped headline, 0.964 /
0.944 / 0.917). So: the fine-tuned encoder beside the trained judge's features lifts the two models
whose refusals the phrase families read worst (Mistral +0.036, GPT-4 +0.025) but loses a point on
Llama-2 (-0.011), and it does not reach 0.95 on every unseen model (Llama-2 0.925, Mistral 0.942). The
plain protocol favours the encoder (see the caveat above), so these are upper bounds of what the
prompt-grouped protocol would give.

Shipped (``--final``: the ft+trained choice over all six single-model cases of the whole data, all fits
cached): 128 tokens, lr 1e-3, 1 epoch of the 3-epoch schedule, w 2, trained part L2 0.1 unweighted,
floor, cut-off 0.3 (pooled agreement 0.9472 against the trained judge's 0.9306 on those cases); trained
on all 1,080 answers by ``clearance eval train-judge --encoder`` (145 s).

Cost per answer, one thread, 216 answers (every fifth), 128-token cut (mean 93 tokens), best of 3, on a
machine whose other core was busy (``--speed 128``): the shipped encoder judge 28.4 ms (35 answers/s;
the numpy encoder's pass is all of it), the same model in torch 40.2 ms, the trained judge 0.11 ms
(9,268 answers/s): about 250 times the trained judge's cost, hence optional.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from clearance.evals.judges import train as T  # noqa: E402
from clearance.evals.judges.encoder_train import EPOCHS, RANK, fine_tune, pooled, token_ids, with_lora  # noqa: E402
from clearance.evals.responses import MODELS, load_answers  # noqa: E402
from judge_contextual import Choice, sigmoid  # noqa: E402

RESPONSES = ROOT.parent / "shared" / "data" / "responses"
CACHE = Path("/tmp/judge-ft")
PROMPT_TOKENS = 32
# The grid (variant, answer tokens, LoRA lr); small: each setting costs 3 fits of 360 answers x 3 epochs
# (the pair variant only at 64 tokens: under this protocol it is reported, not chosen).
SETTINGS = (*product(("answer",), (64, 128), (3e-4, 1e-3)), *product(("pair",), (64,), (3e-4, 1e-3)))
WEIGHTS = (0.25, 0.5, 1.0, 2.0)
MARGIN = 0.005


def sequences(bert: Any, answers: list, variant: str, tokens: int) -> list[list[int]]:
    """Token ids of each answer's start (and, for ``pair``, the prompt before it)."""
    tok = bert.tokenizer
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    body = [e.ids[:tokens - 2] for e in tok.encode_batch([a.completion for a in answers], add_special_tokens=False)]
    if variant == "answer":
        return token_ids(tok, [a.completion for a in answers], tokens)  # what the shipped judge reads
    asked = [e.ids[:PROMPT_TOKENS] for e in tok.encode_batch([a.prompt for a in answers], add_special_tokens=False)]
    return [[cls, *p, sep, *b, sep] for p, b in zip(asked, body, strict=True)]


class Runner:
    """The data, the torch encoder and the per-fit cache."""

    def __init__(self) -> None:
        import torch

        from clearance.guardrails.encoder import SentenceEncoder
        from clearance.guardrails.torch_encoder import TorchEncoder

        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)
        self.torch = torch
        self.answers = load_answers(RESPONSES)
        self.rows = T._Rows(self.answers)
        self.bert = TorchEncoder(torch, SentenceEncoder.load().folder, 512)
        self.bert.tokenizer.no_truncation()
        self._seqs: dict[tuple[str, int], list[list[int]]] = {}
        CACHE.mkdir(parents=True, exist_ok=True)

    def seqs(self, variant: str, tokens: int) -> list[list[int]]:
        if (variant, tokens) not in self._seqs:
            self._seqs[(variant, tokens)] = sequences(self.bert, self.answers, variant, tokens)
        return self._seqs[(variant, tokens)]

    def frozen(self, variant: str, tokens: int) -> np.ndarray:
        path = CACHE / f"frozen-{variant}-t{tokens}.npy"
        if not path.exists():
            np.save(path, pooled(self.bert, self.seqs(variant, tokens), self.bert.layers))
        return np.load(path)

    def logits(self, setting: tuple[str, int, float], trained_on: tuple[str, ...]) -> np.ndarray:
        """[epochs, every row] logits of the fit on ``trained_on``'s answers (its own rows left at 0)."""
        variant, tokens, lr = setting
        path = CACHE / f"ft-{variant}-t{tokens}-lr{lr:g}-r{RANK}-on-{'+'.join(trained_on)}.npy"
        if path.exists():
            return np.load(path)
        rows = self.rows
        train_idx = np.flatnonzero(np.isin(rows.model, trained_on))
        test_idx = np.flatnonzero(~np.isin(rows.model, trained_on))
        started = time.perf_counter()
        z, _, _ = fine_tune(self.bert, self.seqs(variant, tokens), rows.y, train_idx, test_idx, lr,
                            self.frozen(variant, tokens))
        out = np.zeros((EPOCHS, len(rows.y)))
        out[:, test_idx] = z
        np.save(path, out)
        print(f"  fit {path.name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        return out


def nested(run: Runner, settings: tuple = SETTINGS) -> list[tuple[str, dict[str, tuple[float, dict]]]]:
    """Each outer fold's candidates' nested choices over its two plain cases."""
    rows = run.rows
    out = []
    for held in MODELS:
        idx = np.flatnonzero(rows.model != held)
        cases = T.plain_cases(rows, idx)
        xs = [rows.x[test] for _, test, _, _ in cases]
        ys = [rows.y[test] for _, test, _, _ in cases]
        total = sum(len(t) for t in ys)
        ref = Choice()
        trained = {}
        for c, balance in T.GRID:
            zs = [x_test @ np.array(coef) + bias for coef, bias, x_test in T.case_fits(cases, rows, "answer", c, balance)]
            trained[(c, balance)] = zs
            ref.offer(zs, xs, ys, total, {"l2": c, "balance": balance})
        found = {"trained": ref.best}
        fixed = trained[(ref.best[1]["l2"], ref.best[1]["balance"])]
        for family in ("answer", "pair"):
            alone, summed = Choice(), Choice()
            name = "ft" if family == "answer" else "pair"
            for setting in (s for s in settings if s[0] == family):
                fits = [run.logits(setting, (rows.model[train[0]],)) for train, _, _, _ in cases]
                for epoch in range(EPOCHS):
                    zs = [f[epoch, test] for f, (_, test, _, _) in zip(fits, cases, strict=True)]
                    tag = {"variant": setting[0], "tokens": setting[1], "lr": setting[2], "epochs": epoch + 1}
                    alone.offer(zs, xs, ys, total, tag)
                    for w in WEIGHTS:
                        summed.offer([t + w * z for t, z in zip(fixed, zs, strict=True)], xs, ys, total,
                                     {**tag, "weight": w, "l2": ref.best[1]["l2"], "balance": ref.best[1]["balance"]})
            found[name], found[f"{name}+trained"] = alone.best, summed.best
        out.append((held, found))
    return out


def final_choice(run: Runner) -> tuple[float, dict]:
    """The shipped judge's settings: the ``ft+trained`` choice over every single-model case of the whole data
    (train on one model's answers, judge another's: 6 cases, all fits already cached by the nested run)."""
    rows = run.rows
    cases = [(np.flatnonzero(rows.model == a), np.flatnonzero(rows.model == b), None, None)
             for a in MODELS for b in MODELS if a != b]
    xs = [rows.x[test] for _, test, _, _ in cases]
    ys = [rows.y[test] for _, test, _, _ in cases]
    total = sum(len(t) for t in ys)
    ref, trained = Choice(), {}
    for c, balance in T.GRID:
        trained[(c, balance)] = [x @ np.array(coef) + bias
                                 for coef, bias, x in T.case_fits(cases, rows, "answer", c, balance)]
        ref.offer(trained[(c, balance)], xs, ys, total, {"l2": c, "balance": balance})
    fixed = trained[(ref.best[1]["l2"], ref.best[1]["balance"])]
    summed = Choice()
    for setting in (s for s in SETTINGS if s[0] == "answer"):
        fits = [run.logits(setting, (rows.model[train[0]],)) for train, _, _, _ in cases]
        for epoch, w in product(range(EPOCHS), WEIGHTS):
            zs = [t + w * f[epoch, test] for t, f, (_, test, _, _) in zip(fixed, fits, cases, strict=True)]
            summed.offer(zs, xs, ys, total, {"tokens": setting[1], "lr": setting[2], "epochs": epoch + 1,
                                             "weight": w, **ref.best[1]})
    print(f"trained judge alone over these cases: {ref.best[0]:.4f} {ref.best[1]}")
    print(f"ft+trained: {summed.best[0]:.4f} {summed.best[1]}")
    return summed.best


def dev_table(results: list[tuple[str, dict]]) -> None:
    print("Nested (development) agreement, plain protocol: per outer fold (held-out model), the chosen setting's "
          "pooled agreement over the two leave-one-of-the-training-models-out cases; no held-out answer read\n")
    names = list(results[0][1])
    base = float(np.mean([r["trained"][0] for _, r in results]))
    print(f"| candidate | nested | vs trained | {' | '.join(f'fold {h}' for h, _ in results)} | verdict |")
    print("|---|---|---|" + "---|" * len(results) + "---|")
    for name in names:
        vals = [r[name][0] for _, r in results]
        mean = float(np.mean(vals))
        verdict = "" if name == "trained" else ("BETTER" if mean >= base + MARGIN else "no")
        if name.startswith("pair"):
            verdict += " (prompt seen: not evidence)"
        print(f"| {name} | {mean:.4f} | {mean - base:+.4f} | " + " | ".join(f"{v:.4f}" for v in vals)
              + f" | {verdict} |")
    print("\nchosen settings:")
    for held, r in results:
        for name in names:
            print(f"  {held:<16} {name:<14} {r[name][1]}")


def held_out_table(run: Runner, results: list[tuple[str, dict]], name: str) -> None:
    """The one look at the held-out models: ``name``'s chosen setting per outer fold, fitted on the fold's two
    training models, beside the trained judge fitted the same way and the published judges."""
    rows = run.rows
    print(f"HELD-OUT agreement with the human labels (binary), plain protocol, candidate {name}")
    print("| held-out model | answers | trained (plain) | " + name
          + " | strmatch | published GPT-4 judge | published strmatch judge |")
    print("|---|---|---|---|---|---|---|")
    for held, found in results:
        train = np.flatnonzero(rows.model != held)
        test = np.flatnonzero(rows.model == held)
        truth = rows.y[test] == 1.0
        cells = []
        for who in ("trained", name):
            s = found[who][1]
            w = s.get("weight", 1.0 if who == "trained" else 0.0)
            z = np.zeros(len(test))
            if who == "trained" or "+" in who:
                coef, bias = T._fit_refusal(rows.x[train], rows.y[train],
                                            T._weights(rows.model[train], rows.y[train], s["balance"]), s["l2"],
                                            "answer")
                z = rows.x[test] @ np.array(coef) + bias
            if who != "trained":
                ft = run.logits((s["variant"], s["tokens"], s["lr"]), tuple(m for m in MODELS if m != held))
                z = z + (w if "+" in who else 1.0) * ft[s["epochs"] - 1, test]
            refused = T._floored(sigmoid(z), rows.x[test], s["floor"]) >= s["threshold"]
            cells.append(float((refused == truth).mean()))
        pub = T._published([rows.answers[i] for i in test])
        print(f"| {held} | {len(test)} | {cells[0]:.3f} | {cells[1]:.3f} | {pub['strmatch']:.3f} | "
              f"{pub['published_gpt4_judge']:.3f} | {pub['published_strmatch_judge']:.3f} |")


def speed(run: Runner, tokens: int) -> None:
    """Cost per answer on one core: the numpy encoder (the run-time form: LoRA merged into the weights costs
    nothing extra) at this cut, the torch encoder with LoRA unmerged, and the trained judge."""
    from threadpoolctl import threadpool_limits

    from clearance.evals.judges import get_judge
    from clearance.guardrails.encoder import SentenceEncoder

    sample = run.answers[::5]
    texts = [a.completion for a in sample]
    seqs = sequences(run.bert, sample, "answer", tokens)
    layers = with_lora(run.torch, run.bert.layers, RANK)
    numpy_encoder = SentenceEncoder.load()
    numpy_encoder.tokenizer.enable_truncation(tokens)
    judge, shipped = get_judge("trained"), get_judge("encoder")
    runs = {f"shipped encoder judge ({shipped.tokens} tokens)": lambda: shipped.judge([""] * len(texts), texts),
            "numpy encoder, batches of 16": lambda: numpy_encoder.encode(texts),
            "numpy encoder, one at a time": lambda: [numpy_encoder.encode([t]) for t in texts],
            "torch + LoRA, batches of 32": lambda: pooled(run.bert, seqs, layers),
            "trained judge (answer only)": lambda: judge.judge([""] * len(texts), texts)}
    with threadpool_limits(1):
        timed: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(3):
            for name, fn in runs.items():
                started = time.perf_counter()
                fn()
                timed[name].append((time.perf_counter() - started) / len(texts))
    lengths = [len(s) for s in seqs]
    print(f"{len(sample)} answers, {tokens}-token cut (mean {statistics.mean(lengths):.0f} tokens), one thread, "
          "best of 3 passes (tokenising included)")
    for k, v in timed.items():
        print(f"  {k:<36} {1e3 * min(v):8.2f} ms an answer ({1 / min(v):,.0f} answers/s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--held-out", action="store_true", help="the held-out table of the best candidate (look once)")
    ap.add_argument("--candidate", default=None, help="with --held-out: which candidate (default: best nested)")
    ap.add_argument("--final", action="store_true", help="the shipped judge's settings (over all the data)")
    ap.add_argument("--speed", type=int, metavar="TOKENS", help="cost per answer at this cut")
    args = ap.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        sys.exit("torch is not importable: pip install torch==2.13.0 (a CPU wheel) in the bench venv")
    run = Runner()
    if args.speed:
        speed(run, args.speed)
        return
    if args.final:
        final_choice(run)
        return
    results = nested(run)
    if not args.held_out:
        dev_table(results)
        return
    name = args.candidate or max(("ft", "ft+trained"), key=lambda n: np.mean([r[n][0] for _, r in results]))
    held_out_table(run, results, name)


if __name__ == "__main__":
    main()
