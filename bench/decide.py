"""Decision throughput and latency of clearance, beside Cedar, on the example and a scaled bundle.

    python bench/decide.py [--requests N] [--quick] [--seed S] [--profile]

Why this exists: the project promises that a decision is cheap enough to sit
in the request path of a model gateway (targets below). This measures that
promise on one core, for

  (a) the shipped example bundle on N seeded requests (see ``workload.py``),
  (b) a scaled bundle of 10,000 entities, 1,000 authorizations and 200 models
      (``scaled_bundle.py``), including how long it takes to load and compile,
  (c) the same rules in Cedar (``cedar_peer.py``), whose outcome must agree
      with clearance's on every request compared.

For each policy it reports ``decide()`` with its verdict memo: one pass from an
empty memo over requests from a population of people (the shape of gateway
traffic, and the headline figure), one pass over requests that each invent a new
person (the worst case for the memo), and warm; ``decide_uncached()`` (every step evaluated), and
``decide_json()`` (parse + decide from decoded JSON). Throughput is a tight
loop over the whole set (best of a few passes); latency is
``perf_counter_ns`` around single calls on a sample, and includes the timer's
own cost (printed). Targets are printed as MET / NOT MET, never asserted: a
benchmark that fails CI on a noisy machine teaches people to ignore it.
A JSON summary goes to ``bench/out/decide.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from clearance import decide, decide_json, load_policy, parse_request, read_policy, snapshot
from clearance.core.decide import decide_uncached

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cedar_peer import CedarPeer  # noqa: E402
from scaled_bundle import write_scaled_bundle  # noqa: E402
from workload import Workload  # noqa: E402

OUT = HERE / "out"
TARGET_RATE = 500_000  # decisions/s on one core, decide() on (a)
TARGET_RATIO = 25.0  # clearance decisions/s over cedarpy's
TARGET_P99_US = 10.0
FIRST, WARM, COLD = "decide, 1st pass (empty memo)", "decide (memo warm)", "decide_uncached (cold)"
PEOPLE = "decide, 1 pass over a population (empty memo)"
JSON_PATH, CEDAR_PATH = "decide_json (parse + decide)", "cedarpy is_authorized_batch"
console = Console(width=None if sys.stdout.isatty() else 150)


# -- measurement ----------------------------------------------------------------


def timer_overhead_ns(n: int = 20_000) -> int:
    pc = time.perf_counter_ns
    lat = []
    for _ in range(n):
        t0 = pc()
        lat.append(pc() - t0)
    lat.sort()
    return lat[len(lat) // 2]


def throughput(fn, policy, items: list, repeats: int) -> float:
    """Best decisions/s of ``repeats`` tight passes over ``items``."""
    best = None
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter_ns()
        for item in items:
            fn(policy, item)
        dt = time.perf_counter_ns() - t0
        best = dt if best is None else min(best, dt)
    return len(items) / (best / 1e9)


def latency(fn, policy, items: list) -> dict[str, float]:
    """p50/p99/max of single calls, in microseconds."""
    pc = time.perf_counter_ns
    lat = []
    gc.collect()
    for item in items:
        t0 = pc()
        fn(policy, item)
        lat.append(pc() - t0)
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] / 1000  # noqa: E731
    return {"p50_us": pick(0.50), "p99_us": pick(0.99), "max_us": lat[-1] / 1000}


def row(path: str, rate: float, lat: dict[str, float] | None, note: str = "") -> dict[str, Any]:
    return {"path": path, "decisions_per_s": rate, **(lat or {}), "note": note}


def measure_clearance(policy, docs: list, reqs: list, sample: int, repeats: int) -> list[dict[str, Any]]:
    rows = []
    policy.memo.clear()
    lat = latency(decide, policy, reqs[:sample])
    policy.memo.clear()
    rate = throughput(decide, policy, reqs, 1)
    entries = len(policy.memo)
    # The memo keeps every verdict alive, so filling it makes the cyclic GC walk ever more objects:
    # the same pass with the GC off shows how much of the miss cost that is.
    policy.memo.clear()
    gc.disable()
    try:
        no_gc = throughput(decide, policy, reqs, 1)
    finally:
        gc.enable()
    rows.append(row(FIRST, rate, lat, f"{entries:,} memo entries after; {no_gc:,.0f}/s with gc off"))
    rate = throughput(decide, policy, reqs, repeats)
    bypass = sum(r.person.id in policy.restricted_persons for r in reqs) / len(reqs)
    note = f"public path; {bypass:.1%} name a restricted person (memo bypassed)"
    rows.append(row(WARM, rate, latency(decide, policy, reqs[:sample]), note))
    rate = throughput(decide_uncached, policy, reqs, max(1, repeats - 1))
    rows.append(row(COLD, rate, latency(decide_uncached, policy, reqs[:sample]), "every step evaluated"))
    rate = throughput(decide_json, policy, docs, repeats)
    rows.append(row(JSON_PATH, rate, latency(decide_json, policy, docs[:sample]), "memo warm"))
    return rows


def measure_population(policy, n: int, sample: int, args) -> dict[str, Any]:
    """One pass from an empty memo over requests drawn from a fixed population of people.

    This is the shape of gateway traffic: the same people (nationality, employer,
    location) mostly calling their usual model for their usual purpose, within
    one day (the gateway decides at "now"). Each request is decided once, so the
    figure includes every memo miss of the run.
    """
    docs = Workload(policy.policy, args.seed + 1, population=args.population).requests(n)
    reqs = [parse_request(d) for d in docs]
    policy.memo.clear()
    lat = latency(decide, policy, reqs[:sample])
    policy.memo.clear()
    rate = throughput(decide, policy, reqs, 1)
    note = f"{args.population:,} people with habits, one day; {len(policy.memo):,} memo entries after"
    policy.memo.clear()
    return row(PEOPLE, rate, lat, note)


def measure_cedar(peer: CedarPeer, policy, docs: list, reqs: list, sample: int) -> dict[str, Any]:
    """Cedar throughput (batch API) and latency (single calls), and its agreement with clearance."""
    cedar_reqs = [peer.request(r) for r in reqs]
    gc.collect()
    cpu0, t0 = time.process_time(), time.perf_counter()
    allowed = peer.allowed_batch(cedar_reqs)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    lat = latency(lambda _, r: peer.allowed(r), None, cedar_reqs[:sample])
    disagree = []
    for i, (req, ok) in enumerate(zip(reqs, allowed, strict=True)):
        d = decide(policy, req)
        if (d.outcome == "permit") != ok:
            disagree.append(i)
    return {
        "compared": len(reqs),
        "disagreements": len(disagree),
        "first_disagreements": [
            {
                "request": docs[i],
                "clearance": f"{decide(policy, reqs[i]).outcome}/{decide(policy, reqs[i]).code}",
                "cedar_allowed": allowed[i],
                "cedar_errors": [str(e) for e in peer.errors(cedar_reqs[i])],
            }
            for i in disagree[:5]
        ],
        "permits": sum(allowed),
        "row": row(CEDAR_PATH, len(reqs) / wall, lat, f"cpu/wall {cpu / wall:.2f}; latency: is_authorized"),
    }


# -- one policy, end to end ---------------------------------------------------------


def run_policy(label: str, policy, n: int, args, cedar_sample: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    docs = Workload(policy.policy, args.seed).requests(n)
    reqs = [parse_request(d) for d in docs]
    console.print(f"[dim]{label}: {n:,} requests generated and parsed in {time.perf_counter() - t0:.1f} s[/dim]")
    sample = min(n, args.sample)
    rows = [measure_population(policy, n, sample, args)]
    rows += measure_clearance(policy, docs, reqs, sample, args.repeats)
    t0 = time.perf_counter()
    peer = CedarPeer(policy)
    translate_s = time.perf_counter() - t0
    k = min(n, cedar_sample)
    console.print(
        f"[dim]{label}: Cedar translation {translate_s:.2f} s ({policy_count(peer)} policies); "
        f"comparing {k:,} requests[/dim]"
    )
    cedar = measure_cedar(peer, policy, docs[:k], reqs[:k], min(k, args.cedar_latency_sample))
    rows.append(cedar.pop("row"))
    codes: dict[str, int] = {}
    memo_mismatch = 0  # the memo must never change an answer
    for r in reqs:
        d = decide(policy, r)
        codes[str(d.code)] = codes.get(str(d.code), 0) + 1
        memo_mismatch += d.verdict != decide_uncached(policy, r).verdict
    return {
        "label": label,
        "requests": n,
        "rows": rows,
        "cedar": {**cedar, "translate_s": translate_s, "policies": policy_count(peer)},
        "memo_vs_uncached_mismatches": memo_mismatch,
        "codes": dict(sorted(codes.items(), key=lambda kv: -kv[1])),
    }


def policy_count(peer: CedarPeer) -> int:
    return peer.policy_text.count("@id(")


def load_scaled(args) -> tuple[Any, dict[str, Any]]:
    sizes = dict(entities=1_000, authorizations=100, models=20) if args.quick else {}
    root = OUT / f"scaled-{args.seed}{'-quick' if args.quick else ''}"
    t0 = time.perf_counter()
    write_scaled_bundle(root, args.seed, **sizes)
    t1 = time.perf_counter()
    raw = read_policy(root)
    t2 = time.perf_counter()
    compiled = snapshot(raw)
    t3 = time.perf_counter()
    info = {
        "dir": str(root.relative_to(HERE.parent)),
        "entities": len(raw.entities),
        "authorizations": len(raw.authorizations),
        "models": len(raw.models),
        "segments": sum(len(m.segments) for m in compiled.models.values()),
        "write_s": t1 - t0,
        "read_validate_s": t2 - t1,
        "hash_compile_s": t3 - t2,
        "load_policy_s": t3 - t1,
    }
    return compiled, info


# -- report ---------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "[green]MET[/green]" if ok else "[red]NOT MET[/red]"


def report(results: list[dict[str, Any]], overhead: int) -> list[dict[str, Any]]:
    table = Table(title="Decisions (one core)", title_justify="left")
    for col in ("policy", "path", "decisions/s", "p50 µs", "p99 µs", "max µs", "note"):
        table.add_column(col, justify="right" if col.endswith(("s", "µs")) and col != "policy" else "left")
    for res in results:
        for r in res["rows"]:
            table.add_row(
                res["label"],
                r["path"],
                f"{r['decisions_per_s']:,.0f}",
                f"{r['p50_us']:.2f}",
                f"{r['p99_us']:.2f}",
                f"{r['max_us']:.1f}",
                r["note"],
            )
        table.add_section()
    console.print(table)
    console.print(f"[dim]latencies include the timer's own cost: perf_counter_ns pair ≈ {overhead} ns[/dim]")
    targets = []
    t = Table(
        title="Targets (MET / NOT MET; the memo-warm decide() is the public path, the others show the miss cost)",
        title_justify="left",
    )
    for col in (
        "policy",
        "path",
        "decisions/s",
        f"≥ {TARGET_RATE:,}/s",
        "x cedarpy",
        f"≥ {TARGET_RATIO:g}x",
        "p99 µs",
        f"≤ {TARGET_P99_US:g} µs",
    ):
        t.add_column(col)
    for res in results:
        by = {r["path"]: r for r in res["rows"]}
        cedar = by[CEDAR_PATH]["decisions_per_s"]
        for path in (PEOPLE, WARM, FIRST, COLD, JSON_PATH):
            r = by[path]
            ratio = r["decisions_per_s"] / cedar
            met = {
                "rate": r["decisions_per_s"] >= TARGET_RATE,
                "ratio": ratio >= TARGET_RATIO,
                "p99": r["p99_us"] <= TARGET_P99_US,
            }
            targets.append(
                {
                    "policy": res["label"],
                    "path": path,
                    "decisions_per_s": r["decisions_per_s"],
                    "ratio_vs_cedar": ratio,
                    "p99_us": r["p99_us"],
                    "met": met,
                }
            )
            t.add_row(
                res["label"],
                path,
                f"{r['decisions_per_s']:,.0f}",
                verdict(met["rate"]),
                f"{ratio:,.1f}x",
                verdict(met["ratio"]),
                f"{r['p99_us']:.2f}",
                verdict(met["p99"]),
            )
        t.add_section()
    console.print(t)
    return targets


def print_agreement(res: dict[str, Any]) -> None:
    c = res["cedar"]
    colour = "green" if c["disagreements"] == 0 else "red"
    console.print(
        f"{res['label']}: clearance vs Cedar outcome on {c['compared']:,} requests: "
        f"[{colour}]{c['disagreements']} disagreements[/{colour}] ({c['permits']:,} permits)"
    )
    for d in c["first_disagreements"]:
        console.print(d)
    colour = "green" if res["memo_vs_uncached_mismatches"] == 0 else "red"
    console.print(
        f"{res['label']}: decide() vs decide_uncached() verdicts on {res['requests']:,} requests: "
        f"[{colour}]{res['memo_vs_uncached_mismatches']} mismatches[/{colour}]"
    )
    console.print(f"[dim]  codes: {res['codes']}[/dim]")


def profile(policy, reqs: list) -> None:
    """Where the time of decide_uncached / decide goes (cProfile, top functions)."""
    import cProfile
    import pstats

    for fn in (decide_uncached, decide):
        prof = cProfile.Profile()
        prof.enable()
        for r in reqs:
            fn(policy, r)
        prof.disable()
        console.rule(f"cProfile: {fn.__name__} over {len(reqs):,} requests")
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=100_000, help="requests per policy (default 100,000)")
    ap.add_argument("--quick", action="store_true", help="a small smoke run (a few seconds)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--population", type=int, default=5_000, help="people in the population workload")
    ap.add_argument("--sample", type=int, default=20_000, help="single calls timed for latency")
    ap.add_argument("--repeats", type=int, default=3, help="throughput passes; the best is kept")
    ap.add_argument(
        "--cedar-sample", type=int, default=10_000, help="requests compared with Cedar on the scaled bundle"
    )
    ap.add_argument("--cedar-latency-sample", type=int, default=2_000)
    ap.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    ap.add_argument("--profile", action="store_true", help="also cProfile decide() on the example workload")
    args = ap.parse_args(argv)
    if args.quick:
        args.requests, args.sample, args.repeats = min(args.requests, 3_000), 1_000, 3
        args.cedar_sample, args.cedar_latency_sample = 300, 200
    pinned = None
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        pinned = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {pinned})
    overhead = timer_overhead_ns()

    example = load_policy()
    results = [run_policy("(a) example", example, args.requests, args, args.requests)]
    print_agreement(results[0])
    scaled, scaled_info = load_scaled(args)
    console.print(
        f"(b) scaled bundle: {scaled_info['entities']:,} entities, {scaled_info['authorizations']:,} "
        f"authorizations, {scaled_info['models']:,} models, {scaled_info['segments']:,} segments; "
        f"load_policy {scaled_info['load_policy_s']:.2f} s (read+validate {scaled_info['read_validate_s']:.2f} s, "
        f"hash+compile {scaled_info['hash_compile_s']:.2f} s); written in {scaled_info['write_s']:.2f} s"
    )
    results.append(run_policy("(b) scaled", scaled, args.requests, args, args.cedar_sample))
    print_agreement(results[1])
    targets = report(results, overhead)
    if args.profile:
        profile(
            example,
            [parse_request(d) for d in Workload(example.policy, args.seed).requests(min(args.requests, 20_000))],
        )

    OUT.mkdir(exist_ok=True)
    summary = {
        "meta": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpu": platform.processor() or platform.machine(),
            "pinned_cpu": pinned,
            "cedarpy": version("cedarpy"),
            "seed": args.seed,
            "requests": args.requests,
            "quick": args.quick,
            "repeats": args.repeats,
            "latency_sample": args.sample,
            "timer_overhead_ns": overhead,
        },
        "scaled_bundle": scaled_info,
        "results": results,
        "targets": targets,
    }
    path = OUT / "decide.json"
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    console.print(f"[dim]summary written to {path.relative_to(HERE.parent)}[/dim]")


if __name__ == "__main__":
    main()
