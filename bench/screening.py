"""Restricted-party screening: accuracy and throughput against the full CSL + SDN, beside a baseline.

    python bench/screening.py [--baseline-sample N] [--seconds S] [--eval FILE.csv] [--dev-only]

Why this exists: screening must catch listed parties under variant spellings
(recall) without blocking legitimate customers (precision), fast enough to
screen whole customer files. This loads the real lists from ``../shared/data``
(the 2026-07-31 CSL and the 2024 SDN legacy file with the 2026 alias and address
files), builds the index, and runs the labelled evaluation set
``bench/data/screening_eval.csv`` (made by ``bench/make_screening_eval.py``) on both
its parts: ``dev`` (rules and thresholds were tuned on it; its errors are listed) and
``test`` (the figures to quote). Beside recall and precision it prints the number of
negatives whose outcome is ``match``, the costly error: a match denies every request.

A query counts as flagged when its outcome is ``match`` or ``possible-match``
(both stop a request: ``deny`` or ``review``); a flagged positive is also checked
for naming the right list entry. The baseline is plain rapidfuzz:
``process.extractOne(query, all_names, scorer=WRatio)`` over every name and alias,
flagged at the cutoff that gives it its best F1 on the sample (its most favourable
setting). Being slow, it runs on a seeded sample of the set (``--baseline-sample``),
and clearance is scored on the same sample beside it. Throughput is measured on
one core (one thread) over the test part, repeated for ``--seconds``, as names per
CPU second of that thread (and, beside it, per wall-clock second, which on a shared
machine also counts other processes' turns).
Targets are printed with MET / NOT MET, never asserted.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from rapidfuzz import fuzz, process, utils  # noqa: E402

from clearance.screening.index import NameIndex  # noqa: E402
from clearance.screening.match import MATCH, NO_MATCH, POSSIBLE, Matcher, Thresholds  # noqa: E402
from clearance.screening.normalize import name_tokens  # noqa: E402

EVAL = ROOT / "bench" / "data" / "screening_eval.csv"
DATA = ROOT.parent / "shared" / "data" / "screening"
TARGETS = {"recall": 0.98, "precision": 0.98, "names_per_s": 1_000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-sample", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--eval", type=Path, default=EVAL, help="another labelled set (same columns)")
    parser.add_argument("--errors", type=int, default=15, help="how many errors to print per part")
    parser.add_argument("--no-baseline", action="store_true", help="skip the (slow) rapidfuzz baseline")
    parser.add_argument("--test-errors", action="store_true", help="also list the test part's errors (not for tuning)")
    parser.add_argument("--dev-only", action="store_true",
                        help="score the development part only (for tuning: no test figures, no baseline, "
                             "throughput over the dev part)")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (the real screening lists live in ../shared/data)")
        return 0
    from make_screening_eval import load_lists

    started = time.perf_counter()
    entries = load_lists()
    loaded = time.perf_counter()
    index = NameIndex(entries)
    built = time.perf_counter()
    matcher = Matcher(index, Thresholds())
    rows = list(csv.DictReader(args.eval.read_text(encoding="utf-8").splitlines()))
    print(f"lists: {len(index.entries):,} entries, {len(index.names):,} distinct names; "
          f"read in {loaded - started:.1f} s, index built in {built - loaded:.1f} s")
    parts = {p: [r for r in rows if r.get("split", "test") == p] for p in ("dev",) + (() if args.dev_only else ("test",))}
    for part, chosen in parts.items():
        print(f"{part}: {sum(r['label'] == '1' for r in chosen)} positives, "
              f"{sum(r['label'] == '0' for r in chosen)} negatives ({args.eval.name})")

    verdicts = {p: [ours_verdict(matcher, r) for r in chosen] for p, chosen in parts.items()}
    timed = "dev" if args.dev_only else "test"
    names_per_s, wall_per_s = throughput(matcher, parts[timed], args.seconds)
    print(f"\nclearance, default thresholds (match >= {matcher.thresholds.match}, "
          f"possible >= {matcher.thresholds.possible}); a possible-match counts as flagged")
    for part in parts:
        # Errors are listed for the development part only: the test part is for reporting.
        report(part, parts[part], verdicts[part], matcher, args.errors if part == "dev" or args.test_errors else 0)
    show(f"throughput on the {timed} part (names per CPU second, one core)", names_per_s, TARGETS["names_per_s"],
         fmt="{:,.0f}")
    print(f"  wall clock: {wall_per_s:,.0f} names/s (the machine's load: {_load()})")
    if not args.no_baseline and not args.dev_only:
        baseline(parts["test"], verdicts["test"], index, names_per_s, args)
    print(f"\ntotal time {time.perf_counter() - started:.0f} s")
    return 0


def report(part: str, rows: list[dict[str, str]], verdicts: list[tuple[str, bool]], matcher: Matcher, errors: int) -> None:
    m = metrics(rows, verdicts)
    print(f"\n{part} part:" + ("  (the figures to quote)" if part == "test" else "  (tuned on)"))
    show("recall", m["recall"], TARGETS["recall"])
    show("precision", m["precision"], TARGETS["precision"])
    verdict = "MET" if m["false_match"] == 0 else "NOT MET"
    print(f"  negatives with outcome `match`: {m['false_match']} of {m['negatives']} (target 0) {verdict}")
    print(f"  right entry among the hits of flagged positives: {m['entry_recall']:.4f}")
    print(f"  false alarms: {m['fp']} of {m['negatives']} negatives; missed: {m['fn']} of {m['positives']} positives; "
          f"positives as `match`: {m['tp_match']}")
    by_kind: dict[str, list[int]] = {}
    for row, (outcome, _) in zip(rows, verdicts, strict=True):
        by_kind.setdefault(row["perturbation"], []).append(int(outcome != NO_MATCH))
    print("  flagged by kind: " + ", ".join(
        f"{k} {sum(v) / len(v):.3f}" for k, v in sorted(by_kind.items())))
    wrong = [r for r, (outcome, _) in zip(rows, verdicts, strict=True)
             if (r["label"] == "1") != (outcome != NO_MATCH) or (r["label"] == "0" and outcome == MATCH)]
    if wrong and errors:
        print(f"  errors (first {errors}):")
        for r in wrong[:errors]:
            verdict = screen_row(matcher, r)
            best = verdict.best.summary() if verdict.best else "no hit"
            print(f"    [{r['label']}:{r['perturbation']}] {r['query']!r} {r['country']} {r['kind']} "
                  f"(from {r['source_name']!r}) -> {best}")


def baseline(sample_from: list[dict[str, str]], ours: list[tuple[str, bool]], index: NameIndex, names_per_s: float,
             args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    sample_ids = sorted(rng.sample(range(len(sample_from)), min(args.baseline_sample, len(sample_from))))
    sample = [sample_from[i] for i in sample_ids]
    all_names = [(n, e.uid) for e in index.entries for n in e.names()]
    choices = [n for n, _ in all_names]
    t0 = time.process_time()
    raw = [process.extractOne(r["query"], choices, scorer=fuzz.WRatio, processor=utils.default_process) for r in sample]
    base_rate = len(sample) / (time.process_time() - t0)
    cutoff, base = best_cutoff(sample, raw, all_names)
    ours_sample = metrics(sample, [ours[i] for i in sample_ids])
    print(f"\nside by side on a seeded sample of {len(sample)} test queries:")
    print(f"  {'':34} {'recall':>8} {'precision':>10} {'neg. match':>10} {'names/CPU s':>12}")
    print(f"  {'clearance (default thresholds)':34} {ours_sample['recall']:>8.4f} {ours_sample['precision']:>10.4f} "
          f"{ours_sample['false_match']:>10} {names_per_s:>10,.0f}")
    print(f"  {f'rapidfuzz extractOne WRatio >= {cutoff}':34} {base['recall']:>8.4f} {base['precision']:>10.4f} "
          f"{'':>10} {base_rate:>10,.1f}")
    f_ours, f_base = f1(ours_sample), f1(base)
    print(f"  F1 {f_ours:.4f} vs {f_base:.4f}; speed {names_per_s / base_rate:,.0f}x the baseline; "
          f"{'better on both' if f_ours > f_base and names_per_s > base_rate else 'NOT better on both'}")


def screen_row(matcher: Matcher, row: dict[str, str]):
    return matcher.screen(row["query"], [row["country"]] if row["country"] else [], row.get("kind") or None)


def ours_verdict(matcher: Matcher, row: dict[str, str]) -> tuple[str, bool]:
    verdict = screen_row(matcher, row)
    flagged = verdict.outcome != NO_MATCH
    right = flagged and any(_same(h.entry.uid, h.entry.names(), row) for h in verdict.hits)
    return verdict.outcome, right


def _same(uid: str, names: tuple[str, ...], row: dict[str, str]) -> bool:
    # The same party is sometimes on two lists under two uids; the same normalized name counts as right.
    return uid == row["expected_uid"] or name_tokens(row["source_name"]) in {name_tokens(n) for n in names}


def metrics(rows: list[dict[str, str]], verdicts: list[tuple[str, bool]]) -> dict[str, float]:
    pairs = list(zip(rows, verdicts, strict=True))
    tp = sum(1 for r, (o, _) in pairs if o != NO_MATCH and r["label"] == "1")
    fp = sum(1 for r, (o, _) in pairs if o != NO_MATCH and r["label"] == "0")
    right = sum(1 for r, (_, ok) in pairs if ok and r["label"] == "1")
    positives = sum(r["label"] == "1" for r in rows)
    return {"recall": tp / positives if positives else 0.0, "precision": tp / (tp + fp) if tp + fp else 1.0,
            "entry_recall": right / tp if tp else 0.0, "fp": fp, "fn": positives - tp,
            "false_match": sum(1 for r, (o, _) in pairs if o == MATCH and r["label"] == "0"),
            "tp_match": sum(1 for r, (o, _) in pairs if o == MATCH and r["label"] == "1"),
            "positives": positives, "negatives": len(rows) - positives}


def f1(m: dict[str, float]) -> float:
    p, r = m["precision"], m["recall"]
    return 2 * p * r / (p + r) if p + r else 0.0


def best_cutoff(rows, raw, all_names) -> tuple[int, dict[str, float]]:
    best: tuple[float, int, dict[str, float]] | None = None
    for cutoff in range(70, 101):
        verdicts = []
        for row, found in zip(rows, raw, strict=True):
            flagged = found is not None and found[1] >= cutoff
            verdicts.append((POSSIBLE if flagged else NO_MATCH, flagged and _same(all_names[found[2]][1], (found[0],), row)))
        m = metrics(rows, verdicts)
        if best is None or f1(m) > best[0]:
            best = (f1(m), cutoff, m)
    assert best is not None
    return best[1], best[2]


def throughput(matcher: Matcher, rows: list[dict[str, str]], seconds: float) -> tuple[float, float]:
    """``(names per CPU second, names per wall-clock second)`` of one thread over ``rows``.

    The CPU-time rate is what one core does; on a shared machine the wall-clock rate also
    counts the time other processes held the core, so both are printed.
    """
    from clearance.screening import index, normalize

    memos = (normalize.name_tokens, normalize.skeleton, normalize._is_legal, normalize._is_context_legal,
             index.token_similarity)
    done, started, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        # Cold caches each pass: repeated queries must not be answered from a memo.
        for memo in memos:
            memo.cache_clear()
        matcher.index.clear_memos()
        for row in rows:
            screen_row(matcher, row)
        done += len(rows)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / (time.process_time() - cpu), done / elapsed


def _load() -> str:
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def show(label: str, value: float, target: float, fmt: str = "{:.4f}") -> None:
    verdict = "MET" if value >= target else "NOT MET"
    print(f"  {label}: {fmt.format(value)} (target >= {fmt.format(target)}) {verdict}")


if __name__ == "__main__":
    raise SystemExit(main())
