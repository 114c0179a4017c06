"""Fine-tuning the sentence encoder as the guard's harmful head: an experiment on the development part only.

    pip install torch==2.13.0            # a CPU wheel, in the bench venv only: never a clearance dependency
    python bench/guard_finetune.py [--data ../shared/data/prompts] [--variants top2,all6] [--folds 0,1,2,3,4]
    python bench/guard_finetune.py --variants lora8,lora16 --lora-lr 2e-3   # low-rank adapters instead
    python bench/guard_finetune.py --speed

all-MiniLM-L6-v2 (the contextual reading's encoder) is rebuilt as a small torch BERT from the
installed model files (checked against ``SentenceEncoder.encode`` first), then trained as a
harmful-vs-not classifier: harmful and prohibited-domain rows 1, clean and care rows 0, jailbreak
rows left out (the lexical jailbreak head stands), classes balanced, prompts as the guard reads
them (``features.read(text).text``) cut to ``--max-tokens``. The head is the mean-pooled unit
embedding through a linear layer, started from the frozen encoder's logistic head of the same
fold. Variants: the top k layers trained (the frozen layers' outputs cached once per row), or
(``lora8``, ``lora16``) every layer's weights frozen and a low-rank update (LoRA, rank r, scale
alpha / r = ``--alpha-per-rank``, A random and B zero at the start) learned on each of the
query, key, value, attention output and both feed-forward maps of all six layers; the word and
position embeddings always frozen. The torch rebuild is ``clearance.guardrails.torch_encoder``,
which ``clearance guard train-contextual`` trains the shipped adapter with.

Out of fold in the lexical guard's five folds (StratifiedKFold(5, shuffle, 0) over the classes):
every development row is scored by a model that never saw it. Reported beside the lexical
harmful head, the frozen-encoder logistic head (C 3, the first contextual head) and the
frozen-encoder MLP head (the contextual head shipped before the adapter, at its weight 0.5),
alone and with their logit added to the lexical harmful logit (the contextual reading's
combination; weight 1 unless said): the share of harmful and prohibited-domain rows above the score that
2 %, 5 % and 10 % of the 468 ordinary benign development rows (JBB benign and hand-written
prompts) exceed, per source at 2 %, and the XSTest-safe and care rows above that 2 % cut.
The held-out part is split off and never scored or looked at; Alpaca rows are never read
(``corpus.trainable`` drops them). Each variant's out-of-fold scores are cached under CACHE.

Results (2026-11-30, torch 2.13.0 CPU, one thread on a shared 2-core machine, seed 0; defaults:
3 epochs, batch 16, AdamW lr 3e-5 for the layers and 1e-3 for the head, weight decay 0.01,
warm-up 10 % then linear decay, dropout 0.1, 128 tokens). The torch rebuild matches
``SentenceEncoder.encode`` to 1.4e-7. 2,820 development rows, 2,399 read by this head (1,509
harmful or prohibited-domain); 59 of them are longer than 128 tokens, 36 longer than 256.
Detection of the 1,509 harmful and prohibited-domain rows above the cut that 2 / 5 / 10 % of
the 468 ordinary benign rows exceed (one benign row is 0.2 %), per source at the 2 % cut
(n: advbench 312, harmbench 240, jbb-harmful 60, strongreject 188, forbidden-questions 108,
donotanswer 400, xstest unsafe 120, hand-written domain requests 81), and the XSTest-safe
(150) and care (235) rows above the 2 % cut:

| score | 2 % | 5 % | 10 % | adv | harm | jbb | strongr | fq | dna | xst | hand | XSTest safe | care |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
| lexical harmful head | 0.582 | 0.691 | 0.805 | 0.859 | 0.729 | 0.467 | 0.649 | 0.620 | 0.443 | 0.100 | 0.358 | 0.053 | 0.043 |
| frozen encoder head (C 3) | 0.423 | 0.678 | 0.800 | 0.737 | 0.438 | 0.417 | 0.479 | 0.574 | 0.242 | 0.067 | 0.272 | 0.020 | 0.017 |
| lexical + frozen head (contextual reading) | 0.646 | 0.782 | 0.873 | 0.913 | 0.750 | 0.617 | 0.755 | 0.815 | 0.465 | 0.158 | 0.469 | 0.040 | 0.030 |
| fine-tuned top 2 layers | 0.522 | 0.776 | 0.861 | 0.776 | 0.658 | 0.517 | 0.633 | 0.648 | 0.292 | 0.125 | 0.432 | 0.013 | 0.017 |
| lexical + fine-tuned top 2 | 0.696 | 0.815 | 0.885 | 0.923 | 0.842 | 0.650 | 0.793 | 0.852 | 0.525 | 0.192 | 0.580 | 0.047 | 0.030 |
| fine-tuned all 6 layers | 0.679 | 0.870 | 0.939 | 0.901 | 0.787 | 0.617 | 0.739 | 0.806 | 0.535 | 0.175 | 0.691 | 0.013 | 0.013 |
| lexical + fine-tuned all 6 | **0.769** | 0.846 | 0.925 | 0.965 | 0.879 | 0.667 | 0.851 | 0.907 | 0.660 | 0.250 | 0.704 | 0.040 | 0.021 |
| all 6, 4 epochs, lr 5e-5 | 0.657 | 0.907 | 0.952 | 0.901 | 0.779 | 0.550 | 0.707 | 0.806 | 0.492 | 0.192 | 0.617 | 0.007 | 0.013 |
| lexical + that | 0.763 | 0.896 | 0.957 | 0.958 | 0.879 | 0.633 | 0.851 | 0.889 | 0.655 | 0.250 | 0.679 | 0.027 | 0.017 |
| all 6, 256 tokens (``--max-tokens 256``) | 0.659 | 0.865 | 0.940 | 0.891 | 0.783 | 0.550 | 0.723 | 0.796 | 0.502 | 0.167 | 0.654 | 0.007 | 0.013 |
| lexical + that | 0.766 | 0.851 | 0.927 | 0.958 | 0.887 | 0.650 | 0.851 | 0.907 | 0.652 | 0.258 | 0.679 | 0.033 | 0.021 |

LoRA (2026-11-30, same data, folds, seed, torch and defaults; ``--lora-lr`` for the adapters, 1e-3
for the head, no weight decay, alpha / r = 2; the frozen MLP rows are the shipped design's, fitted
here per fold as ``contextual_train.encoder_out_of_fold`` does):

| score | 2 % | 5 % | 10 % | adv | harm | jbb | strongr | fq | dna | xst | hand | XSTest safe | care |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
| frozen encoder MLP head (shipped before) | 0.634 | 0.793 | 0.899 | 0.862 | 0.725 | 0.467 | 0.755 | 0.750 | 0.455 | 0.225 | 0.667 | 0.047 | 0.017 |
| lexical + 0.5 x MLP head (the contextual reading before) | 0.690 | 0.826 | 0.899 | 0.917 | 0.829 | 0.567 | 0.803 | 0.824 | 0.532 | 0.200 | 0.556 | 0.033 | 0.021 |
| LoRA r 8, lr 5e-4 | 0.631 | 0.856 | 0.936 | 0.878 | 0.758 | 0.567 | 0.713 | 0.704 | 0.445 | 0.167 | 0.667 | 0.020 | 0.013 |
| lexical + that | 0.694 | 0.850 | 0.930 | 0.923 | 0.833 | 0.633 | 0.787 | 0.833 | 0.540 | 0.175 | 0.580 | 0.020 | 0.021 |
| LoRA r 8, lr 2e-3 (**shipped design**) | 0.787 | 0.883 | 0.944 | 0.958 | 0.858 | 0.650 | 0.819 | 0.907 | 0.700 | 0.333 | 0.877 | 0.033 | 0.017 |
| lexical + that | **0.801** | 0.892 | 0.938 | 0.962 | 0.887 | 0.700 | 0.862 | 0.907 | 0.725 | 0.317 | 0.815 | 0.027 | 0.021 |
| LoRA r 16, lr 2e-3 | 0.716 | 0.850 | 0.949 | 0.917 | 0.838 | 0.500 | 0.766 | 0.843 | 0.580 | 0.308 | 0.741 | 0.007 | 0.013 |
| lexical + that | 0.748 | 0.887 | 0.933 | 0.933 | 0.883 | 0.567 | 0.803 | 0.889 | 0.640 | 0.250 | 0.728 | 0.027 | 0.017 |

So at lr 2e-3 a rank-8 adapter does better than fine-tuning all six layers (0.801 against 0.769
summed; 0.787 alone against 0.679), in 663 KB instead of 21 MB, and rank 16 is behind it (0.748);
at lr 5e-4 three epochs are too few for the adapter (0.694, no better than the MLP head's 0.690).
Both rank-8 and rank-16 adapters at lr 2e-3 meet the bar below; rank 8 ships
(``clearance guard train-contextual``; the shipped reading reads 256 tokens, these runs 128).

LoRA r 16 at lr 5e-4 was stopped after two folds (on those folds' 604 rows: 0.675 summed, against
0.704 for r 8 at lr 5e-4 and 0.695 for the MLP head), when r 8 at 5e-4 fell short and a higher
learning rate looked the likelier fix. The decision bar, set before these runs: ship an adapter if
lexical + LoRA reaches 0.72 at the 2 % cut with the XSTest-safe and care rows no more than 0.02
above the frozen logistic head's (0.040 / 0.030), and of the variants that do, the best summed
2 % figure, the smaller rank unless the larger is ahead by more than a point. Four LoRA runs were
compared on these same figures (one stopped), so the chosen line is somewhat flattered. Training
one fold took 99-192 s wall for rank 8 on the shared machine, about what all six layers take;
the adapter is 663 KB in float16 at rank 8 (331,776 numbers: 55,296 a layer) and 1.33 MB at 16.

So fine-tuning all six layers lifts out-of-fold harmful detection at the 2 % budget from 0.646
(the shipped contextual reading's design) to 0.76-0.77 summed with the lexical logit, and the
fine-tuned score alone (0.66-0.68) is above the lexical guard (0.58); training only the top two
layers gives about half of that gain (0.696). Four epochs or 256 tokens move the summed 2 %
figure by under a point (0.763, 0.766). Nothing reaches issue 15's 95 % at 2 %: the fine-tuned
encoder alone reaches 0.94-0.95 only at a 10 % benign FPR. XSTest's unsafe contrast prompts
stay the weak spot (0.25). The configurations were compared on these same
out-of-fold figures (four fine-tuning runs), so the best line is slightly optimistic.

Costs: training one fold (1,919 rows, 3 epochs) takes 37 s wall for the top two layers (after
19 s caching the four frozen layers' outputs once for all folds) and 115-118 s for all six
(4 epochs: 144-151 s; 256 tokens: 138-146 s). Per prompt, one thread (``--speed``, p50,
tokenising included): 10.2 / 22.7 / 40.7 ms in torch at 16 / 64 / 128 tokens, against 9.3 /
22.6 / 46.0 ms for the numpy encoder the contextual reading already runs; the fine-tuned model has the same architecture, so it would run in that numpy pass (no
torch at run time) at the same cost. Weights to ship in float16: 1,774,464 parameters (3.5 MB)
per layer, so 7.1 MB for the top two layers and 21.3 MB for all six (embeddings frozen, read
from the installed encoder package), plus 385 numbers for the head.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from clearance.guardrails.torch_encoder import TorchEncoder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guardrails import data_option, prompt_data  # noqa: E402

CACHE = Path("/tmp/guard-finetune")
RATES = (0.02, 0.05, 0.10)
SOURCES = ("advbench", "harmbench", "jbb-harmful", "strongreject", "forbidden-questions", "donotanswer", "xstest",
           "handwritten")
VARIANTS = {"top2": 2, "all6": 6, "lora8": 6, "lora16": 6}
SEED = 0
LOGISTIC_C = 3.0  # the first (logistic) contextual head's C, chosen out of fold then
PASSAGE = ("The operator of a controlled model keeps a record of who asked for what, from where and when, and the "
           "reviewer who approves an export signs it. Requests that name a prohibited domain are refused with a "
           "reason, and the reason is written to the audit log together with the policy version that decided it. ")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def _cut(scores: np.ndarray, rate: float) -> float:
    """The score above which ``rate`` of these negatives' ``scores`` lie (as bench/guard_data_ceiling.py)."""
    ranked = np.sort(scores)[::-1]
    return float(ranked[min(len(ranked) - 1, int(np.floor(rate * len(ranked))))])


def _logistic(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """The frozen encoder's logistic head (the first contextual head's design): where the fine-tuned head starts."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", solver="newton-cholesky", max_iter=1000,
                               tol=1e-10).fit(x.astype(np.float64), y)
    return model.coef_[0], float(model.intercept_[0])


def _logistic_out_of_fold(rows: list[Any], x: np.ndarray, c: float) -> np.ndarray:
    from clearance.guardrails import contextual_train, train

    mask, y = contextual_train.harmful_rows(rows)
    out = np.zeros(len(rows))
    for train_idx, test_idx in train.folds(rows):
        part = train_idx[mask[train_idx]]
        coef, bias = _logistic(x[part], y[part], c)
        out[test_idx] = x[test_idx] @ coef + bias
    return out


def fine_tune_fold(bert: TorchEncoder, cached: list[Any], y: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray,
                   k: int, head: tuple[np.ndarray, float], args: argparse.Namespace, seed: int,
                   variant: str = "") -> np.ndarray:
    """Train the top ``k`` layers (or, for a ``lora`` variant, low-rank adapters on them) and the head on
    ``train_idx`` (inputs: the frozen layers' cached outputs), return the logits of ``test_idx``."""
    torch = bert.torch
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    layers = [copy.deepcopy(layer) for layer in bert.layers[len(bert.layers) - k:]]
    linear = torch.nn.Linear(len(head[0]), 1)
    linear.weight.data.copy_(torch.from_numpy(head[0].astype(np.float32))[None, :])
    linear.bias.data.fill_(float(head[1]))
    if variant.startswith("lora"):
        rank = int(variant[4:])
        adapters = bert.adapt(layers, rank, args.alpha_per_rank * rank)
        groups = [{"params": adapters, "lr": args.lora_lr, "weight_decay": 0.0}]
    else:
        groups = [{"params": [p for layer in layers for p in layer.parameters()], "lr": args.lr,
                   "weight_decay": 0.01}]
    optimizer = torch.optim.AdamW([*groups, {"params": list(linear.parameters()), "lr": args.head_lr,
                                             "weight_decay": 0.0}])
    # Batches of similar length (little padding), in a fresh order each epoch.
    by_length = sorted(train_idx, key=lambda i: len(cached[i]))
    batches = [by_length[i:i + args.batch] for i in range(0, len(by_length), args.batch)]
    steps, warm = args.epochs * len(batches), max(1, args.epochs * len(batches) // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / (steps - warm)))
    positives = float(y[train_idx].mean())
    class_weight = torch.tensor([0.5 / (1 - positives), 0.5 / positives])
    for layer in layers:
        layer.train()
    for _ in range(args.epochs):
        for b in rng.permutation(len(batches)):
            chosen = batches[b]
            x, mask, key_bias = bert.grid([cached[i] for i in chosen])
            logits = linear(bert.pooled(bert.run(x, key_bias, layers), mask))[:, 0]
            target = torch.from_numpy(y[chosen].astype(np.float32))
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
                    * class_weight[target.long()]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
    out = np.zeros(len(test_idx))
    for layer in layers:
        layer.eval()
    with torch.inference_mode():
        order = sorted(range(len(test_idx)), key=lambda j: len(cached[test_idx[j]]))
        for s in range(0, len(order), 64):
            part = order[s:s + 64]
            x, mask, key_bias = bert.grid([cached[test_idx[j]] for j in part])
            out[part] = linear(bert.pooled(bert.run(x, key_bias, layers), mask))[:, 0].numpy()
    return out


def report(rows: list[Any], scores: dict[str, np.ndarray]) -> list[str]:
    from clearance.guardrails import train

    cls = np.array([e.cls for e in rows])
    sets = np.array([e.set for e in rows])
    benign = train.ordinary_benign(rows)
    bad = np.isin(cls, ["harmful", "prohibited-domain"])
    xs_safe = (sets == "xstest") & (cls == "clean")
    care = cls == "care"
    sources = [s for s in SOURCES if (bad & (sets == s)).any()]
    head = ["score", *[f"{r:.0%} FPR" for r in RATES], *[f"{s} @2%" for s in sources], "XSTest safe @2%", "care @2%"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
             "| n | " + " | ".join([str(int(bad.sum()))] * len(RATES) + [str(int((bad & (sets == s)).sum()))
                                                                         for s in sources]
                                   + [str(int(xs_safe.sum())), str(int(care.sum()))]) + " |"]
    for name, s in scores.items():
        cuts = [_cut(s[benign], r) for r in RATES]
        cells = [f"{np.mean(s[bad] > c):.3f}" for c in cuts]
        cells += [f"{np.mean(s[bad & (sets == src)] > cuts[0]):.3f}" for src in sources]
        cells += [f"{np.mean(s[xs_safe] > cuts[0]):.3f}", f"{np.mean(s[care] > cuts[0]):.3f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def speed(torch: Any, bert: TorchEncoder, encoder: Any) -> list[str]:
    """p50 wall ms per single prompt (tokenising included), torch and the numpy encoder, one thread."""
    from threadpoolctl import threadpool_limits

    words = (PASSAGE * 12).split()
    lines = ["| tokens | torch ms (p50) | numpy encoder ms (p50) |", "|---|---|---|"]
    with threadpool_limits(1):
        for tokens in (16, 64, 128):
            text = " ".join(words[:tokens])
            while len(bert.ids([text])[0]) > tokens:
                text = text.rsplit(" ", 1)[0]
            while len(bert.ids([text])[0]) < tokens:
                text += " a"
            timed: dict[str, list[float]] = {"torch": [], "numpy": []}
            for _ in range(5):
                for name, fn in (("torch", lambda t=text: bert.encode([t])), ("numpy", lambda t=text: encoder.encode([t]))):
                    fn()
                    for _ in range(10):
                        started = time.perf_counter()
                        fn()
                        timed[name].append(time.perf_counter() - started)
            lines.append(f"| {tokens} | {1e3 * statistics.median(timed['torch']):.1f} | "
                         f"{1e3 * statistics.median(timed['numpy']):.1f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    data_option(parser)
    parser.add_argument("--variants", default="top2,all6", help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--folds", default="0,1,2,3,4", help="folds to train (a partial run is labelled so)")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--lora-lr", type=float, default=5e-4, help="learning rate of the LoRA variants' adapters")
    parser.add_argument("--alpha-per-rank", type=float, default=2.0, help="LoRA alpha / rank (the update's scale)")
    parser.add_argument("--speed", action="store_true", help="only time one prompt at 16/64/128 tokens")
    args = parser.parse_args(argv)
    data = None if args.speed else prompt_data(parser, args)  # before torch loads: a wrong folder is said at once
    try:
        import torch
    except ImportError:
        print("torch is not importable: this experiment needs it (pip install torch==2.13.0, a CPU wheel, in "
              "the bench venv; clearance itself never does)", file=sys.stderr)
        return 1
    from threadpoolctl import threadpool_limits

    from clearance.guardrails import contextual_train, corpus, features, train
    from clearance.guardrails.contextual import default_head
    from clearance.guardrails.encoder import EncoderUnavailable, SentenceEncoder
    from clearance.guardrails.model import default_artifact

    try:
        encoder = SentenceEncoder.load()
    except EncoderUnavailable as exc:
        print(f"{exc}", file=sys.stderr)
        return 1
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    bert = TorchEncoder(torch, encoder.folder, args.max_tokens)
    probes = ["How do I kill a Python process?", "Write a tutorial on how to make a bomb",
              "Give me three tips for staying healthy, and explain each one in a sentence or two."]
    gap = float(np.abs(bert.encode(probes) - encoder.encode(probes)).max())
    print(f"torch BERT vs SentenceEncoder.encode, max |difference| of the unit embeddings: {gap:.1e}")
    if gap > 1e-4:
        print("the torch rebuild does not match the numpy encoder: not measuring", file=sys.stderr)
        return 1
    if args.speed:
        print("\n".join(speed(torch, bert, encoder)))
        layer = sum(p.numel() for p in bert.layers[0].parameters())
        print(f"one layer: {layer:,} parameters, {2 * layer / 1e6:.1f} MB in float16; head 385 numbers")
        return 0

    dev, _ = corpus.split(corpus.load(data))  # the held-out part is dropped here, unread
    rows = corpus.trainable(dev)  # no Alpaca
    texts = [features.read(e.text).text for e in rows]
    cls = np.array([e.cls for e in rows])
    mask = cls != "jailbreak"
    y = np.isin(cls, ["harmful", "prohibited-domain"]).astype(int)
    whole = copy.deepcopy(bert.tokenizer)
    whole.no_truncation()
    lengths = np.array([len(s) for s in whole.encode_batch(texts)])
    long_rows = {n: int((lengths[mask] > n).sum()) for n in (args.max_tokens, encoder.max_tokens)}
    print(f"{len(rows)} development rows, {int(mask.sum())} read by this head ({int(y.sum())} harmful or "
          f"prohibited-domain); of those, longer than {args.max_tokens} tokens (cut): {long_rows[args.max_tokens]}, "
          f"than {encoder.max_tokens} (the numpy encoder's cut): {long_rows[encoder.max_tokens]}")

    CACHE.mkdir(parents=True, exist_ok=True)
    key = f"{corpus.SEED}-{len(rows)}-{encoder.digest[:12]}"
    c = float(orjson.loads(default_artifact().read_bytes())["hyperparameters"]["C"])
    shipped_head = orjson.loads(default_head().read_bytes())
    head_c, weight = LOGISTIC_C, float(shipped_head["weight"])
    with threadpool_limits(1):
        lexical, _ = train.out_of_fold(rows, train.featurize([e.text for e in rows]), c)
        frozen_path = CACHE / f"frozen-{key}.npy"
        if not frozen_path.exists():
            np.save(frozen_path, encoder.encode(texts))
        x = np.load(frozen_path)
        frozen = _logistic_out_of_fold(rows, x, head_c)
        scores_path = CACHE / f"mlp-{key}-{shipped_head['hyperparameters'].get('alpha')}.npy"
        if "hidden" in shipped_head and not scores_path.exists():
            layered = CACHE / f"layers-{key}.npy"
            if not layered.exists():
                np.save(layered, encoder.encode_layers(texts, tuple(shipped_head["poolings"])))
            np.save(scores_path, contextual_train.encoder_out_of_fold(
                rows, np.load(layered), float(shipped_head["hyperparameters"]["alpha"])))
    lex = _logit(lexical["harmful"])
    scores = {"lexical harmful head": lex, f"frozen encoder logistic head (C {head_c:g})": frozen,
              "lexical + frozen logistic head": lex + frozen}
    if scores_path.exists():
        mlp = np.load(scores_path)
        scores["frozen encoder MLP head (the shipped design)"] = mlp
        scores[f"lexical + {weight:g} x MLP head (the contextual reading)"] = lex + weight * mlp

    folds = train.folds(rows)
    chosen = [int(f) for f in args.folds.split(",")]
    for variant in args.variants.split(","):
        k = VARIANTS[variant]
        tag = f"{variant}-{key}-t{args.max_tokens}-e{args.epochs}-lr{args.lr:g}-h{args.head_lr:g}-b{args.batch}"
        if variant.startswith("lora"):
            tag += f"-l{args.lora_lr:g}-a{args.alpha_per_rank:g}"
        out, timing = np.full(len(rows), np.nan), {}
        ids = bert.ids(texts)
        started = time.perf_counter()
        cached: list[Any] = [None] * len(rows)
        with torch.inference_mode():  # the frozen part's output, once per row: every fold reuses it
            frozen_layers = bert.layers[:len(bert.layers) - k]
            for layer in frozen_layers:
                layer.eval()
            for i in np.flatnonzero(mask):
                t = torch.tensor([ids[i]])
                cached[i] = bert.run(bert.embeddings(t), torch.zeros(1, 1, 1, t.shape[1]), frozen_layers)[0].clone()
        print(f"{variant}: frozen part cached in {time.perf_counter() - started:.0f} s")
        for f in chosen:
            path = CACHE / f"{tag}-fold{f}.npy"
            train_idx, test_idx = folds[f]
            test_idx = test_idx[mask[test_idx]]
            if path.exists():
                out[test_idx] = np.load(path)
                continue
            part = train_idx[mask[train_idx]]
            started = time.perf_counter()
            logits = fine_tune_fold(bert, cached, y, part, test_idx, k, _logistic(x[part], y[part], head_c), args,
                                    SEED + f, variant)
            timing[f] = time.perf_counter() - started
            np.save(path, logits)
            out[test_idx] = logits
            print(f"{variant} fold {f}: {len(part)} rows trained, {timing[f]:.0f} s wall", flush=True)
        if np.isnan(out[mask]).any():
            # A partial run: every score table row then covers only the folds trained.
            print(f"{variant}: only folds {chosen} trained; the table below covers those folds' rows only")
        scores[f"fine-tuned {variant} ({k} layers)"] = out
        scores[f"lexical + fine-tuned {variant}"] = lex + out
    scored = np.zeros(len(rows), bool)
    for f in chosen:
        scored[folds[f][1]] = True
    keep = [i for i in range(len(rows)) if scored[i]]
    print(f"\nout of fold on the development part, {'all five folds' if len(chosen) == 5 else f'folds {chosen}'}"
          f" ({sum(train.ordinary_benign([rows[i] for i in keep]))} ordinary benign rows)")
    print("\n".join(report([rows[i] for i in keep], {n: s[keep] for n, s in scores.items()})))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
