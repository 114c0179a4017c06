"""Guardrail benchmarks: what the guard adds per call, and how well it labels held-out prompts.

    python bench/guardrails.py             # speed: p50/p99 per call by prompt length, guard vs substring peer
    python bench/guardrails.py --quality   # quality on the held-out split, trained guard beside the baseline
    python bench/guardrails.py --quality --versus OLD.json  # ... and an earlier artifact on the same rows, e.g.
        # round 3's: git show 1393534:src/clearance/guardrails/guard_model.json > OLD.json
    python bench/guardrails.py --dev       # out-of-fold quality on the development part (what design is tuned on)
    python bench/guardrails.py --answer-independent --folds /tmp/judge-folds.json  # answer guard on unseen answers
    python bench/guardrails.py --contextual  # also the contextual reading's cost per call (encoder installed)

Speed prompts are real prompt-set text (the held-out part of the split, every class mixed),
joined and cut to each length; a token is taken as 4 characters, so 4,000 tokens is 16,000
characters. Each call is timed alone on one core (time.perf_counter_ns), after a warm-up.
The answer guard is timed on 512-character windows of an answer, as a stream checker calls it.
Target (issue 15): the prompt guard adds <= 0.3 ms at p50 and <= 1 ms at p99 up to 4,000 tokens.

The quality table also splits the held-out jailbreak rows by a person's review (``data/inthewild_heldout_audit.tsv``):
the in-the-wild set labels a prompt by where it was posted, and some are plain role-play briefs.
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
from clearance.guardrails.model import TrainedPromptGuard
from clearance.guardrails.quality import held_out_report, reviewed
from clearance.guardrails.report import confusion_table, quality_table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import pace_line  # noqa: E402

LENGTHS = (16, 64, 256, 1000, 4000)  # tokens
CHARS_PER_TOKEN = 4
CALLS = 1000
# A person's reading of the held-out in-the-wild and Giskard jailbreak rows, blind to every guard's verdict:
# attack or not (README "Quality"); the quality table splits the jailbreak rows by it.
REVIEW = Path(__file__).resolve().parent / "data" / "inthewild_heldout_audit.tsv"


def data_option(parser: argparse.ArgumentParser) -> None:
    """The ``--data`` option every guard benchmark takes."""
    parser.add_argument("--data", type=Path, default=None, help="prompt sets (default: ../shared/data/prompts)")


def prompt_data(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Path:
    """The prompt sets ``--data`` names (or the default), or a parser error naming the folder that is missing."""
    data = data_dir(args.data)
    if not data.is_dir():
        parser.error(f"no prompt data at {data}")
    return data


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


def _time(fn, inputs) -> tuple[float, float, float, float]:
    """(wall p50, wall p99, CPU p50, CPU p99) in ms. CPU time (this thread's) leaves out the
    time other processes hold the core, which on a shared machine dominates wall-clock p99."""
    for x in inputs[:50]:
        fn(x)
    wall, cpu = [], []
    for x in inputs:
        start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
        fn(x)
        cpu.append(time.thread_time_ns() - start_cpu)
        wall.append(time.perf_counter_ns() - start)
    wall.sort()
    cpu.sort()
    at = int(0.99 * (len(wall) - 1))
    return statistics.median(wall) / 1e6, wall[at] / 1e6, statistics.median(cpu) / 1e6, cpu[at] / 1e6


def speed(data: Path, calls: int, versus: Path | None = None) -> None:
    rng = random.Random(15)
    pool = _texts(data)
    prompts, answers = load_default()
    peer = SubstringGuard()
    # Another artifact (say the previous release) timed on the same prompts in the same run: figures
    # taken on different days or machines do not compare.
    other = TrainedPromptGuard.load(versus) if versus else None
    also = f" and {other.version}" if other else ""
    print(f"prompt guard {prompts.version} vs substring peer{also}, {calls} calls per length, one core\n")
    print("| tokens | chars | guard p50 / p99 ms (wall) | guard p50 / p99 ms (CPU) | peer p50 / p99 ms (wall) | "
          "peer p50 / p99 ms (CPU) | CPU p50 ratio |" + (" other guard p50 / p99 ms (CPU) |" if other else ""))
    print("|---|---|---|---|---|---|---|" + ("---|" if other else ""))
    for tokens in LENGTHS:
        inputs = _prompts(pool, tokens, calls, rng)
        g = _time(prompts.check_prompt, inputs)
        p = _time(peer.check_prompt, inputs)
        o = ""
        if other is not None:
            t = _time(other.check_prompt, inputs)
            o = f" {t[2]:.3f} / {t[3]:.3f} |"
        print(f"| {tokens} | {tokens * CHARS_PER_TOKEN} | {g[0]:.3f} / {g[1]:.3f} | {g[2]:.3f} / {g[3]:.3f} | "
              f"{p[0]:.3f} / {p[1]:.3f} | {p[2]:.3f} / {p[3]:.3f} | {g[2] / p[2]:.1f}x |{o}")
    prompt = pool[0]
    windows = [(prompt, w) for w in _prompts(pool, 128, calls, rng)]
    a = _time(lambda pair: answers.check_answer(*pair), windows)
    print(f"\nanswer guard on 512-char windows (same prompt, cached): p50 / p99 {a[0]:.3f} / {a[1]:.3f} ms wall, "
          f"{a[2]:.3f} / {a[3]:.3f} ms CPU")
    # The full scan (CLEARANCE_GUARD_SCAN=full) also reads every slice of a long prompt: its cost grows
    # with the length, and prompts up to ~1,300 characters cost the same as sampled.
    full, _ = load_default(full_scan=True)
    print("\nfull scan (every slice of a long prompt read): p50 / p99 ms, wall and CPU")
    for tokens in LENGTHS:
        f = _time(full.check_prompt, _prompts(pool, tokens, max(100, calls // 4), rng))
        print(f"| {tokens} | {tokens * CHARS_PER_TOKEN} | {f[0]:.3f} / {f[1]:.3f} | {f[2]:.3f} / {f[3]:.3f} |")


def contextual_or_none():  # noqa: ANN201 - the contextual guard, or None (said on stderr) without the encoder
    from clearance.core.errors import ClearanceError
    from clearance.guardrails.contextual import load_contextual_guard

    try:
        return load_contextual_guard()
    except ClearanceError as exc:
        print(f"(no contextual reading: {exc})", file=sys.stderr)
        return None


def compared_guards() -> dict:  # noqa: ANN201 - name -> PromptGuard
    """The guards a quality bench sets side by side: the substring baseline, the shipped lexical guard and, where
    the encoder is installed, the contextual reading."""
    guards = {"substrings": SubstringGuard(), "lexical": load_default()[0]}
    contextual = contextual_or_none()
    if contextual is not None:
        guards["contextual"] = contextual
    return guards


def quality(data: Path, versus: Path | None = None) -> None:
    """The held-out table: the shipped guard, its contextual reading, ``versus`` (an earlier artifact, read on the
    same rows) and the substring baseline."""
    _, test = corpus.split(corpus.load(data))
    review = reviewed(REVIEW)
    prompts, _ = load_default()
    columns = {"trained": held_out_report(prompts, test, review)}
    if versus is not None:
        columns["versus"] = held_out_report(TrainedPromptGuard.load(versus), test, review)
    contextual = contextual_or_none()
    if contextual is not None:
        columns["contextual"] = held_out_report(contextual, test, review)
    columns["substrings"] = held_out_report(SubstringGuard(), test, review)
    names = " vs ".join(c["guard"] for c in columns.values())
    print(f"held-out split (seed {corpus.SEED}, {corpus.TEST_SHARE:.0%}): {names}\n")
    print(quality_table({name: c["figures"] for name, c in columns.items()}))
    for name, c in columns.items():
        print(f"\nconfusion, {name}:\n")
        print(confusion_table(c["confusion"]))


def contextual_speed(data: Path, calls: int) -> None:
    """What the contextual reading costs per call: the lexical guard plus the encoder (which limits
    itself to one BLAS thread)."""
    guard = contextual_or_none()
    if guard is None:
        return
    rng = random.Random(16)
    pool = _texts(data)
    print(f"\ncontextual reading {guard.version} (lexical guard + {guard.encoder.name} in numpy, one thread), "
          f"{calls} calls per length: p50 / p99 ms, wall and CPU")
    for tokens in LENGTHS:
        # A clean lexical verdict is what sends a prompt to the encoder: time the encoder path.
        c = _time(lambda t: guard.decide(guard.base.check_prompt(t), float(guard.encoder_logits([t])[0])),
                  _prompts(pool, tokens, calls, rng))
        print(f"| {tokens} | {tokens * CHARS_PER_TOKEN} | {c[0]:.3f} / {c[1]:.3f} | {c[2]:.3f} / {c[3]:.3f} |")


def development(data: Path) -> None:
    """Out-of-fold figures on the development part only: no held-out row is read."""
    from clearance.guardrails.train import development_figures

    dev, _ = corpus.split(corpus.load(data))
    c, cut, report = development_figures(dev)
    print(f"development part, {5}-fold out of fold: C={c}, thresholds {cut}\n")
    print(quality_table({"out of fold": report["figures"]}).replace("held-out rows", "development rows"))


def answer_quality(responses: Path) -> None:
    """Harmful compliance on XSTest v2 answers: an unsafe (contrast) prompt answered with full compliance.

    The refusal judge inside the answer guard was trained on these same answers, so this
    checks the combination (prompt guard x judge), not the judge's own generalisation.
    """
    from clearance.evals.judges.base import COMPLIANCE
    from clearance.evals.responses import load_answers

    _, answers = load_default()
    rows = load_answers(responses)
    truth = [a.type.startswith("contrast") and a.label == COMPLIANCE for a in rows]
    said = [answers.check_answer(a.prompt, a.completion).harmful for a in rows]
    pos = [s for s, t in zip(said, truth, strict=True) if t]
    neg = [s for s, t in zip(said, truth, strict=True) if not t]
    print(f"\nanswer guard on {len(rows)} XSTest v2 answers (3 models): harmful compliance detected "
          f"{sum(pos)}/{len(pos)} = {sum(pos) / max(1, len(pos)):.3f}; flagged otherwise {sum(neg)}/{len(neg)} = "
          f"{sum(neg) / max(1, len(neg)):.3f}")


def _fold_judges(responses: Path, folds: Path | None) -> list[dict]:
    """The judge's prompt-grouped leave-one-model-out fits (``train.grouped_artifacts``), read from ``folds`` when
    an earlier run on the same answers wrote them there (fitting them takes a while), else fitted (and written)."""
    import orjson

    from clearance.evals.judges import train
    from clearance.evals.responses import data_hashes, load_answers

    hashes = data_hashes(responses)
    if folds is not None and folds.is_file():
        stored = orjson.loads(folds.read_bytes())
        if stored.get("sha256") == hashes and stored.get("seed") == train.SEED:
            return stored["artifacts"]
        print(f"({folds} holds fold judges of other answers or another protocol: refitting)", file=sys.stderr)
    artifacts = train.grouped_artifacts(load_answers(responses))
    if folds is not None:
        folds.parent.mkdir(parents=True, exist_ok=True)
        folds.write_bytes(orjson.dumps({"sha256": hashes, "seed": train.SEED, "artifacts": artifacts}))
    return artifacts


def _rate(k: int, n: int) -> str:
    from clearance.evals.metrics import wilson

    r = wilson(k, n)
    return "-" if r.rate is None else f"{k}/{n} = {r.rate:.3f} [{r.lower:.3f}, {r.upper:.3f}]"


def answer_independent(data: Path, responses: Path, folds: Path | None) -> None:
    """The answer guard on answers none of its parts was fitted on: XSTest v2 answers to prompts in the prompt
    guard's held-out part, each judged by the refusal judge fitted without its model and without its prompt."""
    import hashlib

    from clearance.evals.judges.base import COMPLIANCE, PARTIAL
    from clearance.evals.judges.train import artifact_bytes
    from clearance.evals.judges.trained import TrainedJudge
    from clearance.evals.responses import MODELS, load_answers
    from clearance.guardrails.answer import HarmfulComplianceGuard

    _, test = corpus.split(corpus.load(data))
    held = {e.text for e in test if e.set == "xstest"}
    answers = load_answers(responses)
    rows = [a for a in answers if a.prompt in held]
    prompts, shipped = load_default()
    fold_guards = {}
    for artifact in _fold_judges(responses, folds):
        judge = TrainedJudge(artifact, hashlib.sha256(artifact_bytes(artifact)).hexdigest())
        guard = HarmfulComplianceGuard(prompts, judge)
        for prompt in artifact["fold"]["judges"]:
            fold_guards[(artifact["fold"]["held_out"], prompt)] = guard
    missing = [a for a in answers if (a.model, a.prompt) not in fold_guards]
    if missing:
        raise SystemExit(f"{len(missing)} answers have no fold judge: the fold file is not of these answers")
    def fold(a):  # noqa: ANN001, ANN202
        return fold_guards[(a.model, a.prompt)]

    columns = {"shipped judge (dependent)": (lambda a: shipped, None), "fold judge (independent)": (fold, None)}
    contextual = contextual_or_none()
    if contextual is not None:
        # As the gateway does under a `reading: contextual` rule: the answer is weighed by the prompt's verdict in
        # context, and its own text is still read by the lexical heads (the contextual head saw prompts only).
        columns["contextual prompt, shipped judge"] = (lambda a: shipped, contextual)
        columns["contextual prompt, fold judge"] = (fold, contextual)
    said = {name: [pick(a).check_answer(a.prompt, a.completion,
                                        reading.check_prompt(a.prompt) if reading is not None else None).harmful
                   for a in rows] for name, (pick, reading) in columns.items()}
    bad = [a.type.startswith("contrast") and a.label == COMPLIANCE for a in rows]
    partial = [a.type.startswith("contrast") and a.label == PARTIAL for a in rows]
    print(f"\nanswer guard, independent rows: the {len(rows)} XSTest v2 answers (3 models) to the "
          f"{len({a.prompt for a in rows})} XSTest prompts in the prompt guard's held-out part (seed {corpus.SEED}); "
          f"each fold judge saw neither the answer's model nor its prompt\n")
    # Where a false flag comes from: a safe prompt's answer (the prompt read as harmful) or an unsafe prompt's
    # refusal (the refusal read as compliance).
    safe = [not a.type.startswith("contrast") for a in rows]
    print("| model | prompt guard + judge | harmful compliance detected | partial compliance (unsafe) flagged | "
          "other answers flagged | of them: safe-prompt answers | of them: unsafe-prompt refusals |")
    print("|---|---|---|---|---|---|---|")
    for model in (*MODELS, "pooled"):
        chosen = [i for i, a in enumerate(rows) if model in ("pooled", a.model)]
        for name, flags in said.items():
            pos = [flags[i] for i in chosen if bad[i]]
            part = [flags[i] for i in chosen if partial[i]]
            neg = [flags[i] for i in chosen if not bad[i]]
            fine = [flags[i] for i in chosen if safe[i]]
            refused = [flags[i] for i in chosen if not bad[i] and not partial[i] and not safe[i]]
            print(f"| {model} | {name} | {_rate(sum(pos), len(pos))} | {_rate(sum(part), len(part))} | "
                  f"{_rate(sum(neg), len(neg))} | {_rate(sum(fine), len(fine))} | {_rate(sum(refused), len(refused))} |")
    # The judge's dependence alone, on every answer (the prompt guard trained on most of these prompts).
    every = [fold_guards[(a.model, a.prompt)].check_answer(a.prompt, a.completion).harmful for a in answers]
    truth = [a.type.startswith("contrast") and a.label == COMPLIANCE for a in answers]
    pos = [s for s, t in zip(every, truth, strict=True) if t]
    neg = [s for s, t in zip(every, truth, strict=True) if not t]
    print(f"\nall {len(answers)} answers with fold judges (the prompt guard still trained on most prompts): "
          f"detected {_rate(sum(pos), len(pos))}; flagged otherwise {_rate(sum(neg), len(neg))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", action="store_true", help="held-out quality instead of speed")
    parser.add_argument("--dev", action="store_true", help="out-of-fold quality on the development part")
    data_option(parser)
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--contextual", action="store_true",
                        help="also time the contextual reading (needs the sentence encoder installed)")
    parser.add_argument("--answer-independent", action="store_true",
                        help="the answer guard on answers none of its parts was fitted on (fold judges, held-out prompts)")
    parser.add_argument("--folds", type=Path, default=None,
                        help="file to read the judge's fold fits from (or write them to): fitting takes minutes")
    parser.add_argument("--versus", type=Path, default=None,
                        help="another prompt-guard artifact to time (or, with --quality, to measure) beside the shipped one")
    args = parser.parse_args(argv)
    data = prompt_data(parser, args)
    if args.dev:
        development(data)
    elif args.answer_independent:
        responses = data.parent / "responses"
        if not responses.is_dir():
            parser.error(f"no labelled answers at {responses}")
        answer_quality(responses)
        answer_independent(data, responses, args.folds)
    elif args.quality:
        quality(data, args.versus)
        responses = data.parent / "responses"
        if responses.is_dir():
            answer_quality(responses)
    else:
        print(pace_line())
        speed(data, max(100, args.calls), args.versus)
        if args.contextual:
            contextual_speed(data, max(20, args.calls // 10))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
