"""The registry service: checked writes, dated reads, and snapshots for the decision core.

Every write is checked before it is stored: bodies against their schema, the
merged regime (bundle + registry + the new changes) against the bundle's own
cross-reference rules, effective instants against the backdating grace, and
suspensions against overlapping ones. A rejected write stores nothing; an
accepted one is committed as new rows (history is never overwritten) and then
announced to ``notify`` so other processes can rebuild their snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..core.errors import ClearanceError, PolicyError
from ..core.index import CompiledPolicy
from ..core.instant import InstantError, parse_instant
from ..licensing.record import ApplicationRecord
from ..policy.load import Sections, read_bundle
from ..policy.snapshot import default_bundle_path, snapshot
from ..ports import Change, Clock, Record, RegistryStore
from .overlay import Entry, overlay
from .records import (
    KINDS,
    POLICY_KINDS,
    CredentialRecord,
    IssuedToken,
    PersonRecord,
    issue_token,
    secret_matches,
    split_token,
)

NS = 1_000_000_000
DEFAULT_GRACE_NS = 300 * NS


class WriteRejected(ClearanceError):
    """A registry write was refused; nothing was stored. ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, problems: list[str]) -> None:
        self.status = status
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Credential:
    """An authenticated caller."""

    key: str
    record: CredentialRecord

    def allows(self, scope: str) -> bool:
        return scope in self.record.scopes or "admin" in self.record.scopes

    def can_read_entity(self, entity: str) -> bool:
        scopes = self.record.scopes
        return "admin" in scopes or "auditor" in scopes or f"entity:{entity}" in scopes

    def audit_entities(self) -> frozenset[str] | None:
        """Whose audit records this caller may read: ``None`` for all, else a set of entity ids.

        ``auditor`` (and ``admin``) read everything; ``auditor:<entity>`` scopes
        limit an auditor to those entities; anyone else may read nothing.
        """
        scopes = self.record.scopes
        if "admin" in scopes or "auditor" in scopes:
            return None
        return frozenset(s.removeprefix("auditor:") for s in scopes if s.startswith("auditor:"))


class RegistryService:
    def __init__(
        self,
        store: RegistryStore,
        clock: Clock,
        bundle: str | Path | None = None,
        grace_ns: int = DEFAULT_GRACE_NS,
        notify: Callable[[list[Record]], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.grace_ns = grace_ns
        self.notify = notify
        # Called with the committed records after every accepted write (audit, rescreening).
        # An observer that raises does not undo the commit; it is the observer's to retry.
        self.observers: list[Callable[[list[Record]], None]] = []
        sections, problems = read_bundle(Path(bundle) if bundle is not None else default_bundle_path())
        if problems:
            raise PolicyError(problems)
        self.sections: Sections = sections
        self._bundle_version: str | None = None

    # -- reads -------------------------------------------------------------------------

    def state(self, valid_at: int | None = None, known_at: int | None = None, kind: str | None = None) -> dict[tuple[str, str], Record]:
        return self.store.state(self.clock.now_ns() if valid_at is None else valid_at, known_at, kind)

    def history(self, kind: str, key: str) -> list[Record]:
        return self.store.history(kind, key)

    def snapshot(self, valid_at: int | None = None, known_at: int | None = None) -> CompiledPolicy:
        """The policy in force at ``valid_at`` (default: now) as known at ``known_at`` (default: everything)."""
        return snapshot(overlay(self.sections, _entries(self.policy_state(valid_at, known_at).values())))

    @property
    def bundle_version(self) -> str:
        """The bundle's own hash (what ``clearance policy hash`` prints); the live ``policy_version`` also
        covers the registry's records, so it changes with every registry write that shapes the policy."""
        if self._bundle_version is None:
            from ..policy.canonical import policy_version

            self._bundle_version = policy_version(overlay(self.sections, []))
        return self._bundle_version

    def policy_state(self, valid_at: int | None, known_at: int | None = None) -> dict[tuple[str, str], Record]:
        """Only the records that shape the policy: people and credentials are never read here."""
        found: dict[tuple[str, str], Record] = {}
        for kind in POLICY_KINDS:
            found.update(self.state(valid_at, known_at, kind))
        return found

    def current(self, kind: str, key: str, valid_at: int | None = None) -> Record | None:
        """The version of one record in force at ``valid_at`` (default: now), ``None`` when absent or retired.

        Reads only that key's history, so it stays cheap however many records of ``kind`` exist.
        """
        at = self.clock.now_ns() if valid_at is None else valid_at
        held = None
        for row in self.store.history(kind, key):
            if row.valid_from <= at and (held is None or (row.valid_from, row.seq) > (held.valid_from, held.seq)):
                held = row
        return held if held is not None and held.op == "put" else None

    def person(self, person_id: str, valid_at: int | None = None) -> PersonRecord | None:
        record = self.current("person", person_id, valid_at)
        return PersonRecord.model_validate(record.body) if record is not None else None

    def authenticate(self, token: str) -> Credential | None:
        """The live credential a bearer token stands for, or ``None`` (unknown, revoked, wrong secret)."""
        parts = split_token(token)
        if parts is None:
            return None
        key, secret = parts
        record = self.current("credential", key)
        if record is None:
            return None
        credential = CredentialRecord.model_validate(record.body)
        return Credential(key, credential) if secret_matches(secret, credential) else None

    # -- writes ------------------------------------------------------------------------

    def write(self, changes: list[Change], expect: dict[tuple[str, str], int | None] | None = None) -> list[Record]:
        """Check and store ``changes`` in one transaction; raise :class:`WriteRejected` otherwise."""
        now = self.clock.now_ns()
        problems: list[str] = []
        for change in changes:
            if change.kind not in KINDS:
                problems.append(f"{change.kind}: unknown record kind")
            body_id = change.body.get("id") if isinstance(change.body, dict) else None
            if body_id is not None and body_id != change.key:
                problems.append(f"{change.kind} `{change.key}`: the record's id `{body_id}` is not its key; "
                                "leave `id` out or make it equal")
            if change.valid_from < now - self.grace_ns:
                problems.append(
                    f"{change.kind} `{change.key}`: effective instant is {(now - change.valid_from) / NS:,.0f} s in the past;"
                    f" backdating is limited to {self.grace_ns / NS:,.0f} s"
                )
        if problems:
            raise WriteRejected(422, problems)
        self._check_bodies(changes)
        self._check_overlaps(changes)
        self._check_merged(changes)
        records = self.store.append(changes, expect)
        if self.notify is not None:
            self.notify(records)
        for observer in self.observers:
            observer(records)
        return records

    def put(
        self,
        kind: str,
        key: str,
        body: dict[str, Any],
        effective: int | None = None,
        actor: str = "system",
        reason: str = "",
        expect: int | None | bool = False,
    ) -> Record:
        """Add or replace one record, effective at ``effective`` (default: now)."""
        at = self.clock.now_ns() if effective is None else effective
        guard = None if expect is False else {(kind, key): expect}  # type: ignore[dict-item]
        return self.write([_change(kind, key, "put", body, at, actor, reason)], guard)[0]

    def retire(self, kind: str, key: str, effective: int | None = None, actor: str = "system", reason: str = "") -> Record:
        if not self.store.history(kind, key):
            raise WriteRejected(404, [f"{kind} `{key}` does not exist"])
        at = self.clock.now_ns() if effective is None else effective
        return self.write([_change(kind, key, "retire", None, at, actor, reason)])[0]

    def suspend(self, key: str, body: dict[str, Any], actor: str = "system", reason: str = "") -> Record:
        """Record a suspension; it takes effect at its own ``from`` instant."""
        return self.put("suspension", key, body, effective=_instant(body.get("from"), "from"), actor=actor, reason=reason)

    def create_credential(self, scopes: list[str], actor: str = "system", reason: str = "", **fields: Any) -> IssuedToken:
        try:
            issued = issue_token(scopes, **fields)
        except ValidationError as exc:
            raise WriteRejected(422, _messages(exc)) from None
        self.put("credential", issued.key, issued.record.model_dump(exclude_none=True), actor=actor, reason=reason, expect=None)
        return issued

    # -- checks ------------------------------------------------------------------------

    def _check_bodies(self, changes: Iterable[Change]) -> None:
        problems = []
        for change in changes:
            if change.op == "retire":
                continue
            schema: type[BaseModel] | None = {"person": PersonRecord, "credential": CredentialRecord, "application": ApplicationRecord}.get(change.kind)
            if schema is None:
                continue
            try:
                schema.model_validate(change.body)
            except ValidationError as exc:
                problems += [f"{change.kind} `{change.key}`: {m}" for m in _messages(exc)]
        if problems:
            raise WriteRejected(422, problems)

    def _check_overlaps(self, changes: Iterable[Change]) -> None:
        current = self.state(valid_at=2**62, kind="suspension")
        problems = []
        for change in changes:
            if change.kind != "suspension" or change.op != "put" or change.body is None:
                continue
            mine = _span(change.body)
            for (_, key), record in current.items():
                if key == change.key or record.body is None:
                    continue
                same = (record.body.get("authorization"), record.body.get("entity")) == (
                    change.body.get("authorization"),
                    change.body.get("entity"),
                )
                if same and _overlaps(mine, _span(record.body)):
                    problems.append(f"suspension `{change.key}` overlaps suspension `{key}` of the same coverage")
        if problems:
            raise WriteRejected(409, problems)

    def _check_merged(self, changes: list[Change]) -> None:
        latest = max(c.valid_from for c in changes)
        merged = dict(self.policy_state(latest))
        for change in changes:
            if change.kind not in POLICY_KINDS:
                continue
            if change.op == "retire":
                merged.pop((change.kind, change.key), None)
            else:
                merged[(change.kind, change.key)] = Record(0, change.kind, change.key, change.op, change.body, change.valid_from, 0, change.actor, change.reason)
        try:
            policy = overlay(self.sections, _entries(merged.values()))
        except PolicyError as exc:
            # A dangling reference is "not found"; a clause no handler accepts is a bad body.
            unknown = any("unknown" in p.message and "unknown obligation" not in p.message for p in exc.problems)
            raise WriteRejected(404 if unknown else 422, [str(p) for p in exc.problems]) from None
        entities = {e.id for e in policy.entities}
        orphans = [
            f"person `{c.key}`: unknown entity `{c.body['entity']}`"
            for c in changes
            if c.kind == "person" and c.op == "put" and c.body and c.body.get("entity") not in entities
        ]
        if orphans:
            raise WriteRejected(404, orphans)


def _change(kind: str, key: str, op: str, body: dict[str, Any] | None, at: int, actor: str, reason: str) -> Change:
    try:
        return Change(kind, key, op, body, at, actor, reason)  # type: ignore[arg-type]
    except ValueError as exc:
        raise WriteRejected(422, [f"{kind} `{key}`: {exc}"]) from None


def _entries(records: Iterable[Record]) -> list[Entry]:
    return [Entry(r.kind, r.key, r.body or {}, f"{r.kind}/{r.key}@{r.seq}") for r in records if r.kind in POLICY_KINDS and r.op == "put"]


def _instant(value: Any, field: str) -> int:
    try:
        parsed = parse_instant(value)
    except InstantError as exc:
        raise WriteRejected(422, [f"{field}: {exc}"]) from None
    if not -(2**63) <= parsed < 2**63:  # stored as 64-bit nanoseconds
        raise WriteRejected(422, [f"{field}: `{value}` is outside the instants the registry can hold (1678..2262)"])
    return int(parsed)


def _span(body: dict[str, Any]) -> tuple[int, int | None]:
    until = body.get("until")
    return _instant(body.get("from"), "from"), None if until is None else _instant(until, "until")


def _overlaps(a: tuple[int, int | None], b: tuple[int, int | None]) -> bool:
    a_end = a[1] if a[1] is not None else 2**63
    b_end = b[1] if b[1] is not None else 2**63
    return a[0] <= b_end and b[0] <= a_end


def _messages(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
