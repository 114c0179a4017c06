"""Human-labelled answers for training and evaluating judges (XSTest v2 completions).

Each file holds one model's answers to XSTest prompts with two human annotations, the
agreed ``final_label`` and the labels of two published judges (``gpt4_judge_label``,
``strmatch_judge_label``). Source: paul-rottger/exaggerated-safety (prompts CC BY 4.0;
completions under their model providers' terms, for evaluation and research).
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError
from .judges.base import XSTEST

MODELS = ("gpt4", "llama2orig", "mistralinstruct")
COLUMNS = ("id", "type", "prompt", "completion", "final_label", "gpt4_judge_label", "strmatch_judge_label")


@dataclass(frozen=True, slots=True)
class Answer:
    model: str
    id: str
    type: str
    prompt: str
    completion: str
    label: str  # the human final label, in judge terms
    gpt4_judge: str | None  # None where the published judge gave no usable label
    strmatch_judge: str | None


def answer_files(directory: Path) -> dict[str, Path]:
    files = {m: directory / f"xstest_v2_completions_{m}.csv" for m in MODELS}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise DataError([f"{p}: no such file (the labelled answers come with ../shared/data/responses)" for p in missing])
    return files


def load_answers(directory: Path) -> list[Answer]:
    """Every labelled answer of the three models, in file order; a bad row is ``file:line``."""
    out: list[Answer] = []
    for model, path in answer_files(directory).items():
        reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError([f"{path}:1: header lacks {', '.join(missing)}"])
        problems = []
        start = 2
        for row in reader:
            label = XSTEST.get(row["final_label"])
            if label is None:
                problems.append(f"{path}:{start}: final_label `{row['final_label']}` is not one of {', '.join(XSTEST)}")
            elif row["completion"] is None or row["prompt"] is None:
                problems.append(f"{path}:{start}: the row has too few fields")
            else:
                out.append(Answer(model, row["id"], row["type"], row["prompt"], row["completion"], label,
                                  XSTEST.get(row["gpt4_judge_label"]), XSTEST.get(row["strmatch_judge_label"])))
            start = reader.line_num + 1
        if problems:
            raise DataError(problems)
    return out


def data_hashes(directory: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in answer_files(directory).values()}
