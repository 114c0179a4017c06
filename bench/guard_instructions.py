"""The prompt guard's cost in instructions per call, not seconds: comparable across loaded or slow hosts.

A shared two-core host moves a p50 by half between two processes running the same code, and a slower host
moves every figure; instruction counts (``valgrind --tool=callgrind``) do neither. Each length's prompts are
built as ``bench/guardrails.py`` builds them (held-out text joined and cut, seed 15); a child process loads the
guard and checks them under callgrind, and the mean of two children that only load the guard is subtracted
(their difference is printed: it bounds what a comparison can tell apart). With ``--versus
SRC`` the same prompts are counted for another checkout's ``src`` (say the previous round's, from ``git
worktree add``; copy the compiled term table into it) in the same run.

    python bench/guard_instructions.py --versus /tmp/r5/src     # about a minute per child

Needs valgrind (Debian: ``apt-get install valgrind``); says so and exits 2 without it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guardrails import _prompts, _texts, data_option, prompt_data  # noqa: E402

LENGTHS = (16, 64, 4000)
CALLS = 200
MAX_CALLS = 2000  # a child under callgrind runs some fifty times slower: keep every run bounded
CHILD = """
import json, sys
from clearance.guardrails.model import load_prompt_guard
guard = load_prompt_guard()
guard.check_prompt("warm the caches once")
for prompt in (json.load(open(sys.argv[1])) if len(sys.argv) > 1 else []):
    guard.check_prompt(prompt)
"""
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions(src: Path, prompts: Path | None, out: Path) -> int:
    """Instructions a child with ``src`` first on its path executes: load the guard, check ``prompts``."""
    # A fixed hash seed keeps set and dict layouts the same from child to child; what still varies (addresses,
    # the collector's timing) is measured as the spread of two load-only children and printed.
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": "0"}
    args = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c", CHILD]
    if prompts is not None:
        args.append(str(prompts))
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1800, check=False)
    found = _REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"callgrind child failed ({done.returncode}) for {src}: {done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versus", type=Path, default=None, help="another checkout's src folder to count beside")
    parser.add_argument("--calls", type=int, default=CALLS, help=f"prompts per length (at most {MAX_CALLS})")
    data_option(parser)
    args = parser.parse_args(argv)
    if not 1 <= args.calls <= MAX_CALLS:
        parser.error(f"--calls must be between 1 and {MAX_CALLS}")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind): no instruction counts", file=sys.stderr)
        return 2
    data = prompt_data(parser, args)
    if args.versus is not None and not (args.versus / "clearance").is_dir():
        parser.error(f"{args.versus} holds no clearance package")
    here = Path(__file__).resolve().parent.parent / "src"
    sources = {"this checkout": here, **({str(args.versus): args.versus} if args.versus else {})}
    pool = _texts(data)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {}
        for tokens in LENGTHS:
            files[tokens] = folder / f"prompts-{tokens}.json"
            files[tokens].write_text(json.dumps(_prompts(pool, tokens, args.calls, random.Random(15))))
        per_call: dict[str, dict[int, float]] = {}
        spread = 0
        for name, src in sources.items():
            loads = [instructions(src, None, folder / f"load-{i}.out") for i in range(2)]
            spread = max(spread, abs(loads[0] - loads[1]))
            base = sum(loads) / 2
            per_call[name] = {t: (instructions(src, files[t], folder / f"{t}.out") - base) / args.calls
                              for t in LENGTHS}
    names = list(sources)
    print(f"prompt guard instructions per call (callgrind), {args.calls} prompts per length\n")
    print("| tokens | " + " | ".join(names) + (" | change |" if len(names) > 1 else " |"))
    print("|---|" + "---|" * (len(names) + (len(names) > 1)))
    for t in LENGTHS:
        cells = [f"{per_call[n][t]:,.0f}" for n in names]
        change = f" | {per_call[names[0]][t] / per_call[names[1]][t] - 1:+.1%}" if len(names) > 1 else ""
        print(f"| {t:,} | " + " | ".join(cells) + change + " |")
    print(f"\nnoise: two load-only children differed by {spread:,} instructions, about {spread / args.calls:,.0f} "
          "per call; a change smaller than that is not measured")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
