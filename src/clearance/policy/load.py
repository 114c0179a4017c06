"""Reading a bundle directory into validated sections (the only I/O in this package).

:func:`read_bundle` parses every ``*.yaml``/``*.yml`` file of a directory (in
name order), validates each against :mod:`.schema` and merges the sections,
remembering where each item came from so later checks can point at
``file:line``. Every problem found is collected; nothing stops at the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..core.errors import PolicyError, Problem
from .schema import LIST_SECTIONS, SINGLE_SECTIONS, BundleFile
from .source import Document, Path_, dotted, read_document


@dataclass(frozen=True)
class Item:
    """A validated section item and where it stands in the bundle."""

    spec: Any
    doc: Document
    path: Path_

    def problem(self, message: str, *sub: str | int) -> Problem:
        where = (*self.path, *sub)
        return Problem(self.doc.file, self.doc.line_of(where), dotted(where), message)


@dataclass
class Sections:
    """The merged sections of a bundle: one item for single sections, a list for the others."""

    single: dict[str, Item] = field(default_factory=dict)
    lists: dict[str, list[Item]] = field(default_factory=lambda: {name: [] for name in LIST_SECTIONS})


def bundle_files(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


def read_bundle(root: Path) -> tuple[Sections, list[Problem]]:
    """Read and validate every file of the bundle at ``root``."""
    problems: list[Problem] = []
    sections = Sections()
    if not root.is_dir():
        raise PolicyError([Problem(str(root), None, "", "not a directory (a bundle is a directory of YAML files)")])
    files = bundle_files(root)
    if not files:
        raise PolicyError([Problem(str(root), None, "", "no .yaml files in the bundle directory")])
    for path in files:
        doc, found = read_document(path, path.name)
        problems.extend(found)
        if doc is None:
            continue
        if not isinstance(doc.data, dict):
            problems.append(Problem(doc.file, doc.line_of(()), "", "a bundle file must be a mapping of sections"))
            continue
        try:
            parsed = BundleFile.model_validate(doc.data)
        except ValidationError as exc:
            problems.extend(_problems(doc, exc))
            continue
        _merge(sections, parsed, doc, problems)
    return sections, problems


def _merge(sections: Sections, parsed: BundleFile, doc: Document, problems: list[Problem]) -> None:
    for name in SINGLE_SECTIONS:
        spec = getattr(parsed, name)
        if spec is None:
            continue
        if name in sections.single:
            first = sections.single[name]
            where = f"{first.doc.file}:{first.doc.line_of(first.path)}"
            problems.append(Problem(doc.file, doc.line_of((name,)), name, f"section given twice (first at {where})"))
            continue
        sections.single[name] = Item(spec, doc, (name,))
    for name in LIST_SECTIONS:
        for i, spec in enumerate(getattr(parsed, name)):
            sections.lists[name].append(Item(spec, doc, (name, i)))


def _problems(doc: Document, exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "missing":
            message = "required field is missing"
        out.append(Problem(doc.file, doc.line_of(loc), dotted(loc), message[:1].lower() + message[1:]))
    return out


def dump(spec: BaseModel) -> dict[str, Any]:
    return spec.model_dump(by_alias=True, exclude_none=True)
