"""Guardrail benchmarks: what the guard adds per call, and how well it labels held-out prompts.

    python bench/guardrails.py             # speed: p50/p99 per call by prompt length, guard vs substring peer
    python bench/guardrails.py --quality   # quality on the held-out split, trained guard beside the baseline

Speed prompts are real prompt-set text (the held-out part of the split, every class mixed),
joined and cut to each length; a token is taken as 4 characters, so 4,000 tokens is 16,000
characters. Each call is timed alone on one core (time.perf_counter_ns), after a warm-up.
The answer guard is timed on 512-character windows of an answer, as a stream checker calls it.
Target (issue 15): the prompt guard adds <= 0.3 ms at p50 and <= 1 ms at p99 up to 4,000 tokens.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

from clearance.evals.prompts import data_dir
from clearance.guardrails import corpus, load_default
from clearance.guardrails.baseline import SubstringGuard
from clearance.guardrails.quality import held_out_report
from clearance.guardrails.report import confusion_table, quality_table

LENGTHS = (16, 64, 256, 1000, 4000)  # tokens
CHARS_PER_TOKEN = 4
CALLS = 1000


def _texts(data: Path) -> list[str]:
    _, test = corpus.split(corpus.load(data))
    return [e.text for e in test]


def _prompts(pool: list[str], tokens: int, count: int, rng: random.Random) -> list[str]:
    out = []
    chars = tokens * CHARS_PER_TOKEN
    for _ in range(count):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < chars:
            parts.append(rng.choice(pool))
        out.append(" ".join(parts)[:chars])
    return out


def _time(fn, inputs) -> tuple[float, float]:
    for x in inputs[:50]:
        fn(x)
    took = []
    for x in inputs:
        start = time.perf_counter_ns()
        fn(x)
        took.append(time.perf_counter_ns() - start)
    took.sort()
    return statistics.median(took) / 1e6, took[int(0.99 * (len(took) - 1))] / 1e6


def speed(data: Path, calls: int) -> None:
    rng = random.Random(15)
    pool = _texts(data)
    prompts, answers = load_default()
    peer = SubstringGuard()
    print(f"prompt guard {prompts.version} vs substring peer, {calls} calls per length, one core\n")
    print("| tokens | chars | guard p50 ms | guard p99 ms | peer p50 ms | peer p99 ms | p50 ratio |")
    print("|---|---|---|---|---|---|---|")
    for tokens in LENGTHS:
        inputs = _prompts(pool, tokens, calls, rng)
        g50, g99 = _time(prompts.check_prompt, inputs)
        p50, p99 = _time(peer.check_prompt, inputs)
        print(f"| {tokens} | {tokens * CHARS_PER_TOKEN} | {g50:.3f} | {g99:.3f} | {p50:.3f} | {p99:.3f} | "
              f"{g50 / p50:.1f}x |")
    prompt = pool[0]
    windows = [(prompt, w) for w in _prompts(pool, 128, calls, rng)]
    a50, a99 = _time(lambda pair: answers.check_answer(*pair), windows)
    print(f"\nanswer guard on 512-char windows (same prompt, cached): p50 {a50:.3f} ms, p99 {a99:.3f} ms")


def quality(data: Path) -> None:
    _, test = corpus.split(corpus.load(data))
    prompts, _ = load_default()
    trained = held_out_report(prompts, test)
    baseline = held_out_report(SubstringGuard(), test)
    print(f"held-out split (seed {corpus.SEED}, {corpus.TEST_SHARE:.0%}): {prompts.version} vs substring baseline\n")
    print(quality_table({"trained": trained["figures"], "substrings": baseline["figures"]}))
    print("\nconfusion, trained:\n")
    print(confusion_table(trained["confusion"]))
    print("\nconfusion, substrings:\n")
    print(confusion_table(baseline["confusion"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", action="store_true", help="held-out quality instead of speed")
    parser.add_argument("--data", type=Path, default=None, help="prompt sets (default: ../shared/data/prompts)")
    parser.add_argument("--calls", type=int, default=CALLS)
    args = parser.parse_args(argv)
    data = corpus_dir = data_dir(args.data)
    if not corpus_dir.is_dir():
        print(f"no prompt data at {corpus_dir}", file=sys.stderr)
        return 1
    if args.quality:
        quality(data)
    else:
        speed(data, max(100, args.calls))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
