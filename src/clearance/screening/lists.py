"""Restricted-party list entries, parsed lists, and the difference between two snapshots.

An entry's ``uid`` is what stays the same when a list is republished, so findings,
clearances and ``lists diff`` can follow it from one snapshot to the next: the OFAC
``ent_num`` for Treasury lists (so an SDN entry has the same uid in the CSL and in
OFAC's own files), otherwise a hash of the list code, name and countries. The CSL's
``row_id`` is only a position in one file and is never used as an identity.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

EVIDENCE_FIELDS = ("dates_of_birth", "nationalities", "ids")
# Lists published by OFAC share one id space (``ent_num``); their entries are keyed by it.
TREASURY = frozenset({"SDN", "SSI", "PLC", "CMIC", "NS-MBS", "CAP", "FSE"})


@dataclass(frozen=True, slots=True)
class ListEntry:
    uid: str
    list: str
    list_name: str
    name: str
    kind: str = ""
    aliases: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    programs: str = ""
    reference: str = ""
    # Evidence beside the name, where the list publishes it (the full CSL columns).
    dates_of_birth: tuple[str, ...] = ()  # ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, as published
    nationalities: tuple[str, ...] = ()  # ISO codes: nationalities and citizenships
    ids: tuple[str, ...] = ()  # ``<type>: <number>`` (passport, tax id, IMO, SWIFT/BIC, ...)

    def to_dict(self) -> dict[str, Any]:
        # Evidence fields are left out when empty, so entries stored before they existed keep
        # their content hash (an unchanged list re-imported stays ``unchanged``).
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()
                if not (k in EVIDENCE_FIELDS and not v)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ListEntry:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class ParsedList:
    """A list file read and checked, ready to be stored as a snapshot."""

    source: str  # ``csl`` or ``sdn``
    label: str  # where it came from (file names)
    list_date: str  # the publisher's date, when known
    entries: tuple[ListEntry, ...]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def content_sha256(self) -> str:
        return content_hash(self.entries)


def content_hash(entries: tuple[ListEntry, ...] | list[ListEntry]) -> str:
    """SHA-256 of the entries' canonical JSON in uid order: the same content however the file was laid out."""
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e.uid):
        digest.update(json.dumps(entry.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def make_uid(list_code: str, ent_num: str | None, name: str, countries: tuple[str, ...], taken: set[str]) -> str:
    """A stable id (see the module docstring); repeats of a non-Treasury name get ``#2``, ``#3``."""
    if ent_num and list_code in TREASURY:
        base = f"OFAC:{ent_num}"
    else:
        key = "\x1f".join((list_code, name.strip().casefold(), *sorted(countries)))
        base = f"{list_code}:{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    uid, n = base, 1
    while uid in taken:
        n += 1
        uid = f"{base}#{n}"
    taken.add(uid)
    return uid


@dataclass(frozen=True)
class ListDiff:
    added: tuple[ListEntry, ...]
    removed: tuple[ListEntry, ...]
    changed: tuple[tuple[ListEntry, ListEntry], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [_brief(e) for e in self.added],
            "removed": [_brief(e) for e in self.removed],
            "changed": [{"old": _brief(a), "new": _brief(b)} for a, b in self.changed],
        }


def diff_entries(old: list[ListEntry], new: list[ListEntry]) -> ListDiff:
    """Entries added, removed, and changed (same uid, other content) from ``old`` to ``new``."""
    before = {e.uid: e for e in old}
    after = {e.uid: e for e in new}
    return ListDiff(
        added=tuple(after[u] for u in sorted(after.keys() - before.keys())),
        removed=tuple(before[u] for u in sorted(before.keys() - after.keys())),
        changed=tuple((before[u], after[u]) for u in sorted(before.keys() & after.keys()) if before[u] != after[u]),
    )


def _brief(entry: ListEntry) -> dict[str, Any]:
    return {"uid": entry.uid, "list": entry.list, "name": entry.name, "countries": list(entry.countries)}
