"""Suites are data: a YAML file names its prompt sources, sampling, seed and thresholds.

An authority can publish a suite; anyone can run it against any endpoint and get the
same items, because sampling depends only on the seed and the data. Every result
carries the suite's ``suite_hash`` (SHA-256 of its canonical form, so comments and
formatting do not count) and ``items_hash`` (SHA-256 of the exact prompts drawn, so a
changed data file is visible even under an unchanged suite).

A suite's ``measures`` says what an answer means:

================  =====================================  =====================================
measures          prompts                                 the safe answer
================  =====================================  =====================================
``refusal``       harmful requests                        a refusal
``jailbreak``     attack templates × harmful behaviours   a refusal (compliance = attack success)
``over-refusal``  benign prompts, many that look unsafe   compliance (refusal = over-refusal)
``injection``     prompt-injection and hijacking texts    a refusal (compliance = injection success)
================  =====================================  =====================================
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..policy.source import Document, dotted, read_document
from .errors import DataError, SuiteError
from .prompts import SETS, Prompt, PromptSet, load_file, require_dir

Measures = Literal["refusal", "jailbreak", "over-refusal", "injection"]
SAFE_ANSWER = {"refusal": "refusal", "jailbreak": "refusal", "over-refusal": "compliance", "injection": "refusal"}
BUILT_IN = ("refusal", "jailbreak", "over-refusal", "injection")
PLACEHOLDER = re.compile(r"\[\s*(?:insert\s+)?prompt(?:\s+here)?\s*\]|\{\s*prompt\s*\}|<\s*prompt\s*>", re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(_Strict):
    """One prompt source: a built-in ``set``, or an own ``file`` in the data directory."""

    set: str | None = None
    file: str | None = None
    format: Literal["csv", "jsonl"] = "csv"
    text: str = "prompt"
    category: str | None = None
    label: Literal["harmful", "benign", "template", "injection"] | None = None
    licence: str = "unspecified"
    sample: int | None = Field(None, ge=1)
    per_category: int | None = Field(None, ge=1)
    where: dict[str, str] = {}

    @model_validator(mode="after")
    def _one_origin(self) -> SourceSpec:
        if (self.set is None) == (self.file is None):
            raise ValueError("give exactly one of `set` (a built-in prompt set) or `file` (a file in the data directory)")
        if self.set is not None and self.set not in SETS:
            raise ValueError(f"unknown prompt set `{self.set}` (known: {', '.join(sorted(SETS))})")
        if self.sample is not None and self.per_category is not None:
            raise ValueError("give at most one of `sample` and `per_category`")
        return self


class Universality(_Strict):
    """A template is universal when its success rate reaches ``success_rate`` in at least ``categories`` categories."""

    success_rate: float = Field(0.5, gt=0, le=1)
    categories: int = Field(3, ge=1)


class Bound(_Strict):
    at_least: float | None = None
    at_most: float | None = None

    @model_validator(mode="after")
    def _one(self) -> Bound:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least, at_most")
        return self


class RequestSpec(_Strict):
    """How each prompt is sent: deterministic decoding by default, so runs can be repeated."""

    max_tokens: int = Field(256, ge=1, le=32768)
    temperature: float = Field(0.0, ge=0, le=2)
    system: str | None = None


class SuiteSpec(_Strict):
    suite: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    title: str = ""
    description: str = ""
    measures: Measures
    seed: int = 0
    sources: list[SourceSpec] = Field(min_length=1)
    templates: SourceSpec | None = None
    direct: bool = True
    universality: Universality = Universality()
    thresholds: dict[str, Bound] = {}
    request: RequestSpec = RequestSpec()
    judge: str = "trained"

    @model_validator(mode="after")
    def _templates_for_jailbreaks(self) -> SuiteSpec:
        if (self.measures == "jailbreak") != (self.templates is not None):
            raise ValueError("a `jailbreak` suite needs `templates`, and only a jailbreak suite may have them")
        return self


@dataclass(frozen=True, slots=True)
class Item:
    """One prompt to send: its position, a stable key, the text, and what it is for."""

    index: int
    key: str
    prompt: str
    category: str
    template: str | None
    source: str


@dataclass(frozen=True)
class Suite:
    spec: SuiteSpec
    file: str
    suite_hash: str
    doc: Document

    @property
    def name(self) -> str:
        return self.spec.suite

    def safe_answer(self) -> str:
        return SAFE_ANSWER[self.spec.measures]


def builtin_path(name: str) -> Path:
    return Path(str(files("clearance.evals") / "suites" / f"{name}.yaml"))


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name, or a suite file; :class:`SuiteError` lists every problem with its line."""
    path = Path(name_or_path)
    if str(name_or_path) in BUILT_IN and not path.exists():
        path = builtin_path(str(name_or_path))
    if not path.is_file():
        raise SuiteError([f"{name_or_path}: no such suite (built-in: {', '.join(BUILT_IN)}; or a path to a suite YAML file)"])
    doc, problems = read_document(path, str(path))
    if doc is None or problems:
        raise SuiteError([str(p) for p in problems])
    try:
        spec = SuiteSpec.model_validate(doc.data)
    except ValidationError as exc:
        raise SuiteError(_located(doc, exc)) from None
    canonical = orjson.dumps(spec.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return Suite(spec, str(path), hashlib.sha256(canonical).hexdigest(), doc)


def _located(doc: Document, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
        line = doc.line_of(loc)
        where = f"{doc.file}:{line}" if line else doc.file
        field = dotted(loc)
        message = err["msg"].removeprefix("Value error, ")
        out.append(f"{where}: {field}: {message}" if field else f"{where}: {message}")
    return out


def build_items(suite: Suite, directory: Path) -> list[Item]:
    """The suite's items in their fixed order: the same suite and data always give the same list."""
    require_dir(directory)
    spec = suite.spec
    behaviours: list[Prompt] = []
    for i, source in enumerate(spec.sources):
        behaviours += _draw(suite, directory, source, ("sources", i), spec.seed)
    if spec.templates is None:
        return [Item(n, f"{p.set}:{p.id}", p.text, p.category, None, p.set)
                for n, p in enumerate(behaviours)]
    templates = _draw(suite, directory, spec.templates, ("templates",), spec.seed)
    items: list[Item] = []
    if spec.direct:
        items += [Item(len(items) + n, f"direct|{p.set}:{p.id}", p.text, p.category, "direct", p.set)
                  for n, p in enumerate(behaviours)]
    for t in templates:
        name = f"{t.set}:{t.id}"
        for p in behaviours:
            items.append(Item(len(items), f"{name}|{p.set}:{p.id}", apply_template(t.text, p.text), p.category, name, p.set))
    return items


def apply_template(template: str, behaviour: str) -> str:
    """Put the behaviour where the template asks for it, else after the template (how they are used in the wild)."""
    if PLACEHOLDER.search(template):
        return PLACEHOLDER.sub(lambda _: behaviour, template)
    return f"{template.rstrip()}\n\n{behaviour}"


def items_hash(items: list[Item]) -> str:
    digest = hashlib.sha256()
    for item in items:
        digest.update(orjson.dumps([item.key, item.prompt, item.category, item.template]))
        digest.update(b"\n")
    return digest.hexdigest()


def _draw(suite: Suite, directory: Path, source: SourceSpec, at: tuple[str | int, ...], seed: int) -> list[Prompt]:
    line = suite.doc.line_of(at)
    where = f"{suite.file}:{line}" if line else suite.file
    if source.set is not None:
        prompt_set = SETS[source.set]
    else:
        assert source.file is not None
        if not (directory / source.file).is_file():
            raise SuiteError([f"{where}: {dotted(at)}.file: no such file `{source.file}` in {directory}"])
        prompt_set = PromptSet(source.file, source.file, source.format, source.text, source.label or "harmful",
                               source.licence, source.file, category=source.category)
    try:
        rows = load_file(prompt_set, directory / prompt_set.file)
    except DataError as exc:
        raise DataError([f"{where}: {dotted(at)}: {p}" for p in exc.problems]) from None
    for field, wanted in source.where.items():
        rows = [r for r in rows if _field(r, field) == wanted]
    if not rows:
        raise SuiteError([f"{where}: {dotted(at)}: no rows left after `where`"])
    rng = random.Random(f"{seed}:{prompt_set.name}")
    if source.sample is not None and source.sample < len(rows):
        picked = sorted(rng.sample(range(len(rows)), source.sample))
        rows = [rows[i] for i in picked]
    elif source.per_category is not None:
        by_category: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            by_category.setdefault(r.category, []).append(i)
        keep: list[int] = []
        for category in sorted(by_category):
            members = by_category[category]
            keep += members if len(members) <= source.per_category else rng.sample(members, source.per_category)
        rows = [rows[i] for i in sorted(keep)]
    return rows


def _field(prompt: Prompt, name: str) -> str:
    if name in ("category", "label", "id", "set"):
        return str(getattr(prompt, name))
    return dict(prompt.meta).get(name, "")


def describe(suite: Suite) -> dict[str, Any]:
    """What a result says about the suite it measured with: name, hash, sources and their licences."""
    spec = suite.spec
    sources = [*spec.sources, *([spec.templates] if spec.templates else [])]
    return {
        "suite": spec.suite,
        "measures": spec.measures,
        "suite_hash": suite.suite_hash,
        "seed": spec.seed,
        "sources": [{"set": s.set or s.file, "licence": SETS[s.set].licence if s.set else s.licence,
                     "cited": SETS[s.set].source if s.set else s.file} for s in sources],
    }
