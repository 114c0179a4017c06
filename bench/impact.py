"""Impact-analysis replay speed: audited requests re-decided per second under a proposed policy.

    python bench/impact.py [--requests N] [--quick] [--seed S]

Why this exists: ``clearance policy impact`` must replay a quarter of audited
traffic in seconds, so a policy change is judged on what really happened. The
log is generated in memory from the example bundle (``workload.py``): a
population of people making requests spread over three months that cross the
bundle's timeline changes, each with the decision recorded under the example
policy, in the shape of the audit trail's ``decision`` bodies. Each pass replays
the whole log from cold caches (a freshly compiled policy and a fresh replayer),
under (1) the same policy and (2) the example bundle without ``annex-a``.

Before timing, a sample is checked against ``decide_json`` request by request:
the replay's fast path must never disagree with the core. Figures are printed
with the target (MET / NOT MET); nothing is asserted on time.

``--registry-changes K`` (default 100, 0 to skip) also replays the log as
``clearance policy impact`` replays a live server's: against a SQLite registry
holding K entities and K licences written through the period, each record decided
under the identical bundle with the registry as of its instant
(``RegistryTimeline``). The registry's rows shape none of the workload's
verdicts, so that replay must report 0 changes; its rate is bounded by one
compiled policy per registry change (2K of them) on top of the replay itself.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from clearance import decide_json, default_bundle_path, load_policy  # noqa: E402
from clearance.core.instant import format_instant, parse_instant  # noqa: E402
from clearance.licensing.impact import Replayer, replay  # noqa: E402
from workload import NS, Workload  # noqa: E402

TARGET = 200_000
PERIOD = ("2026-06-20T00:00:00Z", "2026-09-20T00:00:00Z")


def generate(n: int, seed: int) -> list[tuple[int, dict]]:
    """``n`` audited decisions: (seq, {"request", "decision", "source"})."""
    policy = load_policy()
    work = Workload(policy.policy, seed, population=5_000)
    start, end = (int(parse_instant(t)) for t in PERIOD)
    rng = work.rng
    recorder = Replayer(policy)
    log = []
    for seq in range(n):
        request = work.request()
        ns = rng.randrange(start, end)
        if rng.random() < 0.7:
            ns -= ns % NS
        request["at"] = format_instant(ns)  # as the audit trail fills it in: UTC, to the nanosecond
        outcome, code = recorder.outcome(request)
        log.append((seq, {"request": request, "decision": {"outcome": outcome, "code": code}, "source": "bench"}))
    return log


def without_annex_a() -> Path:
    target = Path(tempfile.mkdtemp(prefix="impact-bench-")) / "bundle"
    shutil.copytree(default_bundle_path(), target)
    path = target / "authorizations.yaml"
    text, removed = re.subn(r"  - id: annex-a\n(?:    .*\n|      .*\n)+\n", "", path.read_text())
    assert removed == 1, "the example bundle's annex-a entry was not found"
    path.write_text(text)
    return target


def check(log: list[tuple[int, dict]], bundle: Path | None, sample: int) -> int:
    policy = load_policy(bundle)
    fast = Replayer(policy)
    wrong = 0
    for _, body in log[:: max(1, len(log) // sample)]:
        d = decide_json(policy, body["request"])
        wrong += fast.outcome(body["request"]) != (str(d.outcome), str(d.code))
    return wrong


def timed(log: list[tuple[int, dict]], bundle: Path | None) -> tuple[float, float, dict]:
    """Wall seconds, CPU seconds of this process, and the report of one cold replay."""
    policy = load_policy(bundle)
    gc.collect()
    gc.disable()
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        report = replay(policy, log)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        gc.enable()
    return seconds, cpu, report


def registry_replay(log: list[tuple[int, dict]], changes: int, seed: int) -> tuple[float, dict, int]:
    """Seconds and report of replaying ``log`` (in instant order) against a registry of ``changes`` x 2 rows."""
    import random

    from clearance.licensing.impact import RegistryTimeline
    from clearance.policy.load import read_bundle
    from clearance.settings import Settings
    from clearance.store.clock import FixedClock
    from clearance.wiring import build_app

    start, end = (int(parse_instant(t)) for t in PERIOD)
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="impact-registry-"))
    clock = FixedClock(start - NS)
    built = build_app(Settings(database_url=str(workdir / "r.db"), audit_keys=str(workdir / "keys")), clock,
                      audited=False)
    try:
        for i, ns in enumerate(sorted(rng.randrange(start, end) for _ in range(changes))):
            clock.set(ns)
            built.service.put("entity", f"bench-{i}", {"name": f"Bench {i}", "country": "US", "kind": "company"})
            built.service.put("authorization", f"LIC-BENCH-{i}", {
                "kind": "individual-licence", "models": ["mythos-5"], "valid": {"from": format_instant(ns)},
                "covers": {"entities": [f"bench-{i}"]}, "use_cases": {"use_cases": ["general"]},
                "obligations": [{"code": "monitoring"}]})
        ordered = sorted(((seq, body, int(parse_instant(body["request"]["at"]))) for seq, body in log),
                         key=lambda r: r[2])
        gc.collect()
        t0 = time.perf_counter()
        timeline = RegistryTimeline(built.service, read_bundle(default_bundle_path())[0])
        report = replay(load_policy(), ordered, 3, timeline)
        return time.perf_counter() - t0, report, timeline.epochs
    finally:
        built.close()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 requests, one pass")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--registry-changes", type=int, default=100)
    args = ap.parse_args()
    n, passes = (100_000, 1) if args.quick else (args.requests, args.passes)
    out = Console(highlight=False)
    t0 = time.perf_counter()
    log = generate(n, args.seed)
    out.print(f"generated {n:,} audited requests over {PERIOD[0]} .. {PERIOD[1]} in {time.perf_counter() - t0:.1f} s"
              f" (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    proposed = without_annex_a()
    try:
        for label, bundle in (("same policy", None), ("without annex-a", proposed)):
            wrong = check(log, bundle, 20_000)
            best, cpu, report = min((timed(log, bundle) for _ in range(passes)), key=lambda r: r[0])
            rate = n / best
            verdict = "[green]MET[/green]" if rate >= TARGET else "[red]NOT MET[/red]"
            out.print(
                f"{label:>16}: {rate:>11,.0f} requests/s ({best:.2f} s wall, best of {passes}; "
                f"{n / cpu:,.0f} per CPU-second); target >= {TARGET:,}/s {verdict}; "
                f"lost {report['lost']:,}, gained {report['gained']:,}, recoded {report['recoded']:,}; "
                f"fast path vs decide_json on a 20,000 sample: {wrong} disagreements"
            )
            if report["lost_entities"]:
                out.print(f"{'':>18}entities losing access: {', '.join(report['lost_entities'])}")
    finally:
        shutil.rmtree(proposed.parent, ignore_errors=True)
    if args.registry_changes:
        seconds, report, epochs = registry_replay(log, args.registry_changes, args.seed)
        rate = n / seconds
        verdict = "[green]MET[/green]" if rate >= TARGET else "[red]NOT MET[/red]"
        changed = report["lost"] + report["gained"] + report["recoded"]
        out.print(f"{'live registry':>16}: {rate:>11,.0f} requests/s ({seconds:.2f} s wall, one pass, "
                  f"{epochs} registry states compiled); target >= {TARGET:,}/s {verdict}; "
                  f"identical bundle: {changed} changes (must be 0)")


if __name__ == "__main__":
    main()
