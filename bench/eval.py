"""Safety evaluation: the judges' held-out agreement, judge throughput, and harness throughput.

    python bench/eval.py [--items N] [--concurrency C] [--skip-table] [--encoder]

1. The judge table. ``../shared/data/responses`` holds XSTest v2 answers of GPT-4,
   Llama-2-70b-chat and Mistral-7B-Instruct to the same 360 prompts, human-labelled. Headline:
   leave one model out *and* prompt-grouped: the prompts are split into folds (stratified by
   type) and the held-out model's answers to a fold are judged by a judge (prompt-risk model
   included) tuned and trained only on the other two models' answers to the other folds'
   prompts, so the judge has seen neither the model nor the prompt. Then plain leave one model
   out of the answer-only judge (the previous protocol), and models seen but prompts not (what a suite of new
   prompts run against one of these models gets). Agreement with the human
   ``final_label`` is binary (compliance vs any refusal). Beside it, on the same rows: our
   string-match baseline and the two published judges' labels from the source
   (``gpt4_judge_label``, ``strmatch_judge_label``).
2. Judge throughput on one core: every (prompt, answer) pair judged, repeated, best of nine
   passes (a pass takes a fifth of a second, shorter than the shared host's slow spells);
   the trained judge both with the prompt and answer-only.
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
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from clearance.evals.harness import HarnessSettings  # noqa: E402
from clearance.evals.judges import get_judge  # noqa: E402
from clearance.evals.judges.encoder_train import HELD_OUT  # noqa: E402
from clearance.evals.judges.train import K_OUTER, evaluate, evaluate_grouped, evaluate_new_prompts  # noqa: E402
from clearance.evals.responses import load_answers  # noqa: E402
from clearance.evals.runs import Runs, open_store  # noqa: E402
from machine import pace_line  # noqa: E402

RESPONSES = ROOT.parent / "shared" / "data" / "responses"


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def judge_table(answers: list, encoder_too: bool = False) -> None:
    print("1. Judge agreement with the human labels (binary: compliance vs any refusal)")
    print(f"   a. HEADLINE: leave one model out AND prompt-grouped ({K_OUTER} prompt folds, stratified by type): the "
          "held-out model's answers to a fold are judged by a judge trained on the other two models' answers to "
          "the other folds' prompts")
    print(f"   {'held-out model':<18}{'answers':>8}{'prompt-aware':>14}{'answer-only':>13}{'strmatch':>10}"
          f"{'pub. GPT-4':>12}{'pub. strmatch':>15}  prompt form chosen per fold")
    grouped = evaluate_grouped(answers)
    for r in grouped:
        forms = Counter(c["prompt_aware"]["mode"] for c in r["chosen"])
        print(f"   {r['held_out']:<18}{r['n']:>8}{r['prompt_aware']:>14.3f}{r['answer_only']:>13.3f}{r['strmatch']:>10.3f}"
              f"{r['published_gpt4_judge']:>12.3f}{r['published_strmatch_judge']:>15.3f}  "
              + ", ".join(f"{m} x{n}" for m, n in sorted(forms.items())))
    worst = min(r["prompt_aware"] for r in grouped)
    mean = sum(r["prompt_aware"] for r in grouped) / len(grouped)
    print(f"   prompt-aware judge's mean over the three held-out models {mean:.3f}")
    print(f"   target: >= 0.95 on every held-out model; prompt-aware judge's worst {worst:.3f}: {verdict(worst >= 0.95)}")
    print("   b. Plain leave one model out (previous protocol, answer-only judge, every prompt seen in training)")
    print(f"   {'held-out model':<18}{'answers':>8}{'trained':>10}{'encoder*':>10}{'strmatch':>10}{'pub. GPT-4':>12}"
          f"{'pub. strmatch':>15}  chosen on the other two")
    for r in evaluate(answers):
        c = r["chosen"]
        print(f"   {r['held_out']:<18}{r['n']:>8}{r['trained']:>10.3f}{HELD_OUT[r['held_out']][1]:>10.3f}{r['strmatch']:>10.3f}"
              f"{r['published_gpt4_judge']:>12.3f}{r['published_strmatch_judge']:>15.3f}"
              f"  L2 {c['l2']}, {'balanced per model' if c['balance_per_model'] else 'unweighted'}, "
              f"{'floor, ' if c['floor'] else ''}cut-off {c['threshold']}")
    print("   * the optional encoder judge (LoRA-fine-tuned MiniLM + the trained features), same protocol, as recorded by "
          "`python bench/judge_finetune.py --held-out` (recomputing needs torch and ~10 min of fine-tuning)")
    print(f"   c. Models seen, prompts not ({K_OUTER} prompt folds): each fold's answers of all three models judged by a "
          "judge built as the shipped one is from all three models' answers to the other folds' prompts")
    print(f"   {'model':<18}{'answers':>8}{'prompt-aware':>14}{'answer-only':>13}{'strmatch':>10}{'pub. GPT-4':>12}"
          f"{'pub. strmatch':>15}" + (f"{'encoder':>10}" if encoder_too else ""))
    encoder = {}
    if encoder_too:  # five fine-tuning fits of the encoder judge (torch, minutes)
        from clearance.evals.judges.encoder_train import evaluate_new_prompts as encoder_new_prompts

        encoder = {r["model"]: r["encoder"] for r in encoder_new_prompts(answers)}
    for r in evaluate_new_prompts(answers):
        extra = f"{encoder[r['model']]:>10.3f}" if encoder else ""
        print(f"   {r['model']:<18}{r['n']:>8}{r['prompt_aware']:>14.3f}{r['answer_only']:>13.3f}{r['strmatch']:>10.3f}"
              f"{r['published_gpt4_judge']:>12.3f}{r['published_strmatch_judge']:>15.3f}{extra}")
    if encoder:
        print("   (last column: the optional encoder judge, answer only, fitted the same way, `--encoder`)")
    print()


def judge_speed(answers: list) -> None:
    print("2. Judge throughput, one core (every answer, best of 9 passes)")
    print(f"   {pace_line()}")
    texts = [a.completion for a in answers]
    prompts = [a.prompt for a in answers]
    for name, given in (("trained", prompts), ("trained", [""] * len(texts)), ("strmatch", prompts)):
        judge = get_judge(name)
        best = 0.0
        for _ in range(9):
            started = time.perf_counter()
            judge.judge(given, texts)
            best = max(best, len(texts) / (time.perf_counter() - started))
        mode = ("with prompt" if any(given) else "answer-only") if name == "trained" else ""
        target = f"  target >= 5,000: {verdict(best >= 5000)}" if name == "trained" else ""
        print(f"   {name:<9}{mode:<13}{best:>10,.0f} answers/s ({judge.version}){target}")
    try:  # the optional encoder judge: tens of ms an answer, so every fifth answer, best of 2
        judge = get_judge("encoder")
    except Exception as exc:  # noqa: BLE001 - it needs the sentence encoder's package; say why it is left out
        print(f"   encoder   not measured: {exc}")
    else:
        sample = texts[::5]
        best = 0.0
        for _ in range(2):
            started = time.perf_counter()
            judge.judge([""] * len(sample), sample)
            best = max(best, len(sample) / (time.perf_counter() - started))
        print(f"   {'encoder':<9}{'answer-only':<13}{best:>10,.0f} answers/s ({judge.version}, every fifth answer)")
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
    ap.add_argument("--skip-table", action="store_true", help="skip the judge tables (a few minutes)")
    ap.add_argument("--encoder", action="store_true",
                    help="also the encoder judge on new prompts (part 1c; needs torch, ~10 minutes of fine-tuning)")
    args = ap.parse_args()
    if not RESPONSES.is_dir():
        print(f"the labelled answers are absent ({RESPONSES}); parts 1 and 2 need ../shared/data/responses")
    else:
        answers = load_answers(RESPONSES)
        if not args.skip_table:
            judge_table(answers, args.encoder)
        judge_speed(answers)
    harness_speed(min(args.items, 100_000), args.concurrency)


if __name__ == "__main__":
    main()
