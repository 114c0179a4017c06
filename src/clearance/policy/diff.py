"""What changed between two policies, item by item and field by field.

Compares canonical forms (see :mod:`.canonical`), so only changes that can alter
a decision or its text show up; formatting and file layout never do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..core.model import Policy
from .canonical import canonical
from .schema import LIST_SECTIONS, SINGLE_SECTIONS

# Every section a decision depends on; `policy` (id, title) is only a label. Optional
# sections (licensing clocks, screening thresholds) are carried in the policy's `meta`.
META_SECTIONS = tuple(s for s in SINGLE_SECTIONS if s != "policy" and s not in Policy.__dataclass_fields__)
SECTIONS = tuple(s for s in SINGLE_SECTIONS if s != "policy" and s not in META_SECTIONS) + LIST_SECTIONS


@dataclass(frozen=True)
class Change:
    """One difference: ``kind`` is ``added``, ``removed`` or ``changed``."""

    section: str
    item: str
    kind: str
    field: str = ""
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        where = f"{self.section}[{self.item}]" if self.item else self.section
        if self.kind == "changed":
            return f"~ {where}.{self.field}: {_shown(self.old)} -> {_shown(self.new)}" if self.field else f"~ {where}"
        return f"{'+' if self.kind == 'added' else '-'} {where}"


def _shown(value: Any) -> str:
    """A value as JSON (``null``, ``["US", "CA"]``, ``"text"``), the language of the bundles, not Python's repr."""
    return "(absent)" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def diff_policies(old: Policy, new: Policy) -> list[Change]:
    changes: list[Change] = []
    for section in META_SECTIONS:
        a, b = canonical(dict(old.meta).get(section)) or {}, canonical(dict(new.meta).get(section)) or {}
        changes += [Change(section, "", "changed", f, x, y) for f, x, y in _fields(a, b, by_id=True)]
    for section in SECTIONS:
        a, b = canonical(getattr(old, section)), canonical(getattr(new, section))
        if isinstance(a, dict):
            changes += [Change(section, "", "changed", f, x, y) for f, x, y in _fields(a, b)]
            continue
        before = {item["id"]: item for item in a}
        after = {item["id"]: item for item in b}
        for item_id in sorted(before.keys() | after.keys()):
            if item_id not in after:
                changes.append(Change(section, item_id, "removed"))
            elif item_id not in before:
                changes.append(Change(section, item_id, "added"))
            else:
                changes += [Change(section, item_id, "changed", f, x, y) for f, x, y in _fields(before[item_id], after[item_id])]
    return changes


def _fields(a: Any, b: Any, prefix: str = "", by_id: bool = False) -> list[tuple[str, Any, Any]]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(a.keys() | b.keys()):
            path = f"{prefix}.{key}" if prefix else key
            out += _fields(a.get(key), b.get(key), path, by_id)
        return out
    if by_id and _keyed(a) and _keyed(b):
        # Lists of items with ids (the guard rules) diff item by item: `rules[frontier].prompt...`.
        before, after = {i["id"]: i for i in a}, {i["id"]: i for i in b}
        out = []
        for key in sorted(before.keys() | after.keys()):
            out += _fields(before.get(key), after.get(key), f"{prefix}[{key}]", by_id)
        return out
    return [] if a == b else [(prefix, a, b)]


def _keyed(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in value) \
        and len({i["id"] for i in value}) == len(value)
