"""Bundle + registry state -> the policy the core decides with.

Registry records are validated with the bundle's own schema and merged into the
bundle's sections before the cross-reference checks run, so a registry entry is
held to exactly the rules a bundle file is: a licence naming an unknown model or
a suspension of an unknown authorization is rejected with the record it came
from, never silently ignored.

Record kinds and what they do (``key`` is the record's id):

========================  ===========================================================
``entity``                adds an entity, or replaces the bundle's entity of that id
``authorization``         adds a licence or other authorization, or replaces one;
                          revoking is a new version whose ``valid.until`` is the instant
``suspension``            adds a suspension to ``authorization`` (body field), for
                          ``entity`` or the whole authorization
``restriction``           sets the restriction of entity ``key``, or of person ``id``
                          when the key is ``person:<id>`` (``status: cleared`` removes it)
``evidence``              merges measured fields into model ``model``'s evidence (key
                          ``<model>:<measures>``), so its tier is derived from them
========================  ===========================================================
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from ..core.errors import PolicyError, Problem
from ..core.model import Policy
from ..policy.build import build_policy
from ..policy.check import check_sections
from ..policy.load import Item, Sections
from ..policy.schema import AuthorizationSpec, EntitySpec, PersonSpec, RestrictionSpec, SuspensionSpec
from ..policy.source import Document
from .records import EvidenceRecord

KINDS = ("entity", "authorization", "suspension", "restriction", "evidence")
_SECTION = {"entity": "entities", "authorization": "authorizations"}
_SPEC: dict[str, type[BaseModel]] = {"entity": EntitySpec, "authorization": AuthorizationSpec}
PERSON_PREFIX = "person:"


@dataclass(frozen=True)
class Entry:
    """One registry record as the overlay needs it: what, which, the body, and where it came from."""

    kind: str
    key: str
    body: Mapping[str, Any]
    source: str


def overlay(sections: Sections, entries: Iterable[Entry]) -> Policy:
    """Merge registry entries into a bundle's sections, check everything, build the policy.

    Raises :class:`PolicyError` listing every problem; a problem in a registry
    entry names it as ``registry:<source>``.
    """
    merged = Sections(single=dict(sections.single), lists={k: list(v) for k, v in sections.lists.items()})
    positions = {name: {item.spec.id: i for i, item in enumerate(items)} for name, items in merged.lists.items()}
    problems: list[Problem] = []
    ordered = sorted(entries, key=lambda e: KINDS.index(e.kind) if e.kind in KINDS else len(KINDS))
    for entry in ordered:
        doc = Document(f"registry:{entry.source}", dict(entry.body))
        if entry.kind not in KINDS:
            problems.append(Problem(doc.file, None, "kind", f"unknown record kind `{entry.kind}`"))
            continue
        try:
            _apply(merged, positions, entry, doc)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"])
                problems.append(Problem(doc.file, None, field, err["msg"].removeprefix("Value error, ")))
        except LookupError as exc:
            problems.append(Problem(doc.file, None, exc.args[0], exc.args[1]))
    problems += check_sections(merged)
    if problems:
        raise PolicyError(problems)
    return build_policy(merged)


Positions = dict[str, dict[str, int]]


def _apply(sections: Sections, positions: Positions, entry: Entry, doc: Document) -> None:
    if entry.kind in _SPEC:
        spec = _SPEC[entry.kind].model_validate({**entry.body, "id": entry.key})
        _put(sections, positions, _SECTION[entry.kind], Item(spec, doc, (_SECTION[entry.kind],)))
    elif entry.kind == "evidence":
        _evidence(sections, positions, entry)
    elif entry.kind == "suspension":
        body = dict(entry.body)
        target = body.pop("authorization", None)
        spec = SuspensionSpec.model_validate({**body, "id": entry.key})
        item = _find(sections, positions, "authorizations", target, "authorization")
        auth = item.spec
        kept = [s for s in auth.suspensions if s.id != spec.id]
        _put(sections, positions, "authorizations", Item(auth.model_copy(update={"suspensions": [*kept, spec]}), item.doc, item.path))
    else:
        restriction = None if entry.body.get("status") == "cleared" else RestrictionSpec.model_validate(entry.body)
        if entry.key.startswith(PERSON_PREFIX):
            person = PersonSpec(id=entry.key.removeprefix(PERSON_PREFIX), restriction=restriction)
            _put(sections, positions, "persons", Item(person, doc, ("persons",)))
            return
        item = _find(sections, positions, "entities", entry.key, "entity")
        _put(sections, positions, "entities", Item(item.spec.model_copy(update={"restriction": restriction}), item.doc, item.path))


def _evidence(sections: Sections, positions: Positions, entry: Entry) -> None:
    record = EvidenceRecord.model_validate(entry.body)
    if entry.key != f"{record.model}:{record.measures}":
        raise LookupError("key", f"evidence key must be `{record.model}:{record.measures}`, not `{entry.key}`")
    item = _find(sections, positions, "models", record.model, "model")
    evidence: dict[str, Any] = copy.deepcopy(item.spec.evidence or {})
    for name, value in record.fields.items():
        *parents, leaf = name.split(".")
        node = evidence
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    _put(sections, positions, "models", Item(item.spec.model_copy(update={"evidence": evidence}), item.doc, item.path))


def _find(sections: Sections, positions: Positions, section: str, item_id: Any, what: str) -> Item:
    at = positions[section].get(item_id)
    if at is None:
        raise LookupError(what, f"unknown {what} `{item_id}`")
    return sections.lists[section][at]


def _put(sections: Sections, positions: Positions, section: str, new: Item) -> None:
    items, index = sections.lists[section], positions[section]
    at = index.get(new.spec.id)
    if at is None:
        index[new.spec.id] = len(items)
        items.append(new)
    else:
        items[at] = new
