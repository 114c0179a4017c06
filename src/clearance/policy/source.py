"""YAML documents with the line of every value, for errors that point at the source.

Two YAML 1.1 traps are closed here: unquoted timestamps stay strings (instants
are parsed by :mod:`clearance.core.instant`, exactly), and only ``true``/``false``
are booleans, so ``NO`` (Norway) and ``ON`` stay country codes.

A document is also bounded: at most ``MAX_VALUES`` values once aliases are expanded (a
small "billion laughs" file would otherwise expand for ever) and ``MAX_DEPTH`` levels of
nesting; past either it is a located problem, not a hang or a ``RecursionError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import Problem

Path_ = tuple[str | int, ...]

_BOOL_TAG = "tag:yaml.org,2002:bool"
_STR_TAG = "tag:yaml.org,2002:str"
_KEEP_AS_TEXT = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"}
MAX_VALUES = 1_000_000
MAX_DEPTH = 64


class _TooBig(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        self.line = node.start_mark.line + 1
        super().__init__(message)


@dataclass
class Document:
    """One bundle file: its data and the 1-based line of each path within it."""

    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """Line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


def read_document(path: Path, display: str) -> tuple[Document | None, list[Problem]]:
    """Parse one YAML file; a syntax error becomes a located :class:`Problem`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(display, None, "", f"cannot read: {exc}")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        return None, [Problem(display, None, "", f"YAML nested too deeply to read (more than {MAX_DEPTH} levels are refused)")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(display, line, "", f"YAML syntax error: {what}")]
    doc = Document(display, None)
    if node is None:
        doc.data = {}
        return doc, []
    problems: list[Problem] = []
    try:
        doc.data = _build(node, (), doc, problems, [MAX_VALUES])
    except _TooBig as exc:
        return None, [Problem(display, exc.line, "", str(exc))]
    return doc, problems


def _build(node: yaml.Node, path: Path_, doc: Document, problems: list[Problem], budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig(node, f"the document expands to more than {MAX_VALUES:,} values (aliases repeating aliases?)")
    if len(path) > MAX_DEPTH:
        raise _TooBig(node, f"nested deeper than {MAX_DEPTH} levels")
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                key = str(key)
            key = str(key)
            if key in out:
                problems.append(Problem(doc.file, key_node.start_mark.line + 1, dotted((*path, key)), "duplicate key"))
            doc.lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, (*path, key), doc, problems, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, problems, budget) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return None
    if node.tag in _KEEP_AS_TEXT:
        return node.value
    if node.tag == _BOOL_TAG and node.value.lower() not in ("true", "false"):
        return node.value
    if node.tag == _STR_TAG:
        return node.value
    return yaml.SafeLoader("").construct_object(node)


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


