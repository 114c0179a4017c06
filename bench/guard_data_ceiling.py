"""How far the prompt guard's design is from issue 15's harmful target, and what more benign data would buy.

    python bench/guard_data_ceiling.py [--data ../shared/data/prompts]

Out-of-fold on the development part only (the held-out part is never read): the lexical guard's
harmful head, refitted in the shipped design's five folds, and the share of harmful and
prohibited-domain rows it detects at several false-positive rates on the ordinary benign rows
(JBB benign and hand-written prompts: the hard negatives), with the share of the real users'
requests (ShareGPT, trained on as clean since round 3) flagged at the same cut.

The second block is a counterfactual that is never shipped: the same design with Alpaca's
development rows added as benign training negatives. Alpaca is CC BY-NC 4.0, so a guard
trained on it could not ship in the package (the shipped artifact is trained without it); the
block says what a licensed corpus of ordinary requests of that size would be worth. The pooled
line uses the issue's pooled benign FPR (mostly Alpaca), which is how the held-out table reads.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import orjson

from clearance.guardrails import corpus, train
from clearance.guardrails.model import default_artifact

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guardrails import data_option, prompt_data  # noqa: E402

RATES = (0.02, 0.05, 0.10, 0.20, 0.30)


def _cut(scores: np.ndarray, rate: float) -> float:
    """The score above which ``rate`` of these negatives' ``scores`` lie."""
    ranked = np.sort(scores)[::-1]
    return float(ranked[min(len(ranked) - 1, int(np.floor(rate * len(ranked))))])


def ceiling(rows: list[corpus.Example], alpaca: list[corpus.Example], c: float, train_on_alpaca: bool) -> None:
    """Out-of-fold harmful detection at each benign FPR; Alpaca rows are trained on only if asked, scored always."""
    started = time.process_time()
    fitted = rows + alpaca if train_on_alpaca else rows
    found = train.featurize([e.text for e in fitted])
    texts = [] if train_on_alpaca else [e.text for e in alpaca]
    # the Alpaca rows scored as the guard reads them: the worst of each row's readings, as the trained rows are
    scores, outside = train.out_of_fold(fitted, found, c, train.featurize(texts), train.readings(texts))
    harmful = scores["harmful"][:len(rows)]
    alpaca_scores = scores["harmful"][len(rows):] if train_on_alpaca else outside["harmful"]
    cls = np.array([e.cls for e in rows])
    sources = train.benign_sources(rows)
    hard = harmful[sources["twins"]]
    users = harmful[sources["users"]] if "users" in sources else np.zeros(0)
    bad = harmful[np.isin(cls, ["harmful", "prohibited-domain"])]
    label = ("Counterfactual, never shipped: Alpaca development rows as benign training negatives" if train_on_alpaca
             else "Shipped design (trained without Alpaca; Alpaca development rows only scored)")
    print(f"\n{label}: {len(fitted)} rows fitted, {len(bad)} harmful or prohibited-domain, {len(hard)} ordinary "
          f"benign, {len(alpaca)} Alpaca; {time.process_time() - started:.0f} s CPU")
    print("| FPR on ordinary benign (JBB benign, hand-written) | harmful detected | users flagged at that cut "
          "| Alpaca flagged at that cut |")
    print("|---|---|---|---|")
    for rate in RATES:
        cut = _cut(hard, rate)
        print(f"| {rate:.2f} | {np.mean(bad > cut):.3f} | {np.mean(users > cut) if len(users) else 0:.3f} "
              f"| {np.mean(alpaca_scores > cut):.3f} |")
    cut = _cut(np.concatenate([hard, alpaca_scores]), 0.02)
    print(f"pooled benign FPR 0.02 (Alpaca included, as the held-out table pools): harmful detected "
          f"{np.mean(bad > cut):.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data_option(parser)
    args = parser.parse_args(argv)
    data = prompt_data(parser, args)
    dev, _ = corpus.split(corpus.load(data))
    c = float(orjson.loads(default_artifact().read_bytes())["hyperparameters"]["C"])
    shipped = corpus.trainable(dev)
    alpaca = [dataclasses.replace(e, cls="clean") for e in dev if e.cls == "alpaca"]
    for train_on_alpaca in (False, True):
        ceiling(shipped, alpaca, c, train_on_alpaca)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
