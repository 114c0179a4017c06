"""Safety evaluation: the judges' held-out agreement, judge throughput, and harness throughput.

    python bench/eval.py [--items N] [--concurrency C] [--skip-table]

1. The judge table. For each of the three models in ``../shared/data/responses`` (XSTest v2
   answers of GPT-4, Llama-2-70b-chat and Mistral-7B-Instruct, human-labelled), the trained
   judge is tuned and trained on the other two models' answers only and tested on the
   held-out model's; agreement with the human ``final_label`` is binary (compliance vs any
   refusal). Beside it, on the same rows: our string-match baseline and the two published
   judges' labels from the source (``gpt4_judge_label``, ``strmatch_judge_label``).
2. Judge throughput on one core: every answer judged, repeated, best of three passes.
3. Harness throughput: a suite of ``--items`` prompts sent to ``bench/mock_upstream.py`` on
   127.0.0.1 at ``--concurrency`` 32, each answer judged and stored durably in SQLite. The
   harness's overhead is its own CPU time per prompt (HTTP client, judge, storage).

Targets are printed with MET / NOT MET, never asserted. Every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from clearance.evals.harness import HarnessSettings  # noqa: E402
from clearance.evals.judges import get_judge  # noqa: E402
from clearance.evals.judges.train import evaluate  # noqa: E402
from clearance.evals.responses import load_answers  # noqa: E402
from clearance.evals.runs import Runs, open_store  # noqa: E402

RESPONSES = ROOT.parent / "shared" / "data" / "responses"


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def judge_table(answers: list) -> None:
    print("1. Judge agreement with the human labels, leave one model out (binary: compliance vs any refusal)")
    print(f"   {'held-out model':<18}{'answers':>8}{'trained':>10}{'strmatch':>10}{'pub. GPT-4':>12}{'pub. strmatch':>15}"
          f"  chosen on the other two")
    rows = evaluate(answers)
    for r in rows:
        print(f"   {r['held_out']:<18}{r['n']:>8}{r['trained']:>10.3f}{r['strmatch']:>10.3f}"
              f"{r['published_gpt4_judge']:>12.3f}{r['published_strmatch_judge']:>15.3f}"
              f"  L2 {r['chosen']['l2']}, {'balanced per model' if r['chosen']['balance_per_model'] else 'unweighted'}, "
              f"cut-off {r['chosen']['threshold']}")
    worst = min(r["trained"] for r in rows)
    mean = sum(r["trained"] for r in rows) / len(rows)
    print(f"   trained judge's mean over the three held-out models {mean:.3f}")
    print(f"   target: >= 0.95 on every held-out model; trained judge's worst {worst:.3f}: {verdict(worst >= 0.95)}\n")


def judge_speed(answers: list) -> None:
    print("2. Judge throughput, one core (every answer, best of 3 passes)")
    texts = [a.completion for a in answers]
    prompts = [a.prompt for a in answers]
    for name in ("trained", "strmatch"):
        judge = get_judge(name)
        best = 0.0
        for _ in range(3):
            started = time.perf_counter()
            judge.judge(prompts, texts)
            best = max(best, len(texts) / (time.perf_counter() - started))
        target = f"  target >= 5,000: {verdict(best >= 5000)}" if name == "trained" else ""
        print(f"   {name:<9} {best:>10,.0f} answers/s ({judge.version}){target}")
    print()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def harness_speed(items: int, concurrency: int) -> None:
    print(f"3. Harness throughput: {items:,} prompts to bench/mock_upstream.py at concurrency {concurrency}, "
          "judged (trained) and stored in SQLite")
    port = _port()
    mock = subprocess.Popen([sys.executable, str(ROOT / "bench" / "mock_upstream.py"), "--port", str(port)])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "data").mkdir()
            (work / "data" / "bench.csv").write_text(
                "prompt,kind\n" + "".join(f"benchmark prompt number {i},c{i % 10}\n" for i in range(items)))
            (work / "suite.yaml").write_text(
                "suite: bench\nmeasures: refusal\nsources:\n  - {file: bench.csv, category: kind}\njudge: trained\n")
            store = open_store(f"sqlite:///{work / 'bench.db'}")
            runs = Runs(store)
            run_id = runs.create(str(work / "suite.yaml"), f"http://127.0.0.1:{port}", "mock", data=str(work / "data"))
            plan = runs.plan(run_id)
            cpu, wall = time.process_time(), time.perf_counter()
            asyncio.run(asyncio.wait_for(runs.execute(plan, concurrency, settings=HarnessSettings()), timeout=600))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            stored = runs.get(run_id)["stored"]
            store.close()
    finally:
        mock.terminate()
        mock.wait(timeout=10)
    rate, overhead = stored / wall, 1000 * cpu / stored
    print(f"   {stored:,} stored in {wall:.2f} s: {rate:,.0f} prompts/s  target >= 500: {verdict(rate >= 500)}")
    print(f"   harness CPU {overhead:.3f} ms/prompt (client, judge, storage)  target <= 1 ms: {verdict(overhead <= 1.0)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--skip-table", action="store_true", help="skip the leave-one-model-out table (one to three minutes)")
    args = ap.parse_args()
    if not RESPONSES.is_dir():
        print(f"the labelled answers are absent ({RESPONSES}); parts 1 and 2 need ../shared/data/responses")
    else:
        answers = load_answers(RESPONSES)
        if not args.skip_table:
            judge_table(answers)
        judge_speed(answers)
    harness_speed(min(args.items, 100_000), args.concurrency)


if __name__ == "__main__":
    main()
