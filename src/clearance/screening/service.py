"""Screening as part of the decision: list snapshots, findings in the registry, reviews, audit.

Findings reach the decision core as ``restriction`` registry records (key
``<entity id>`` or ``person:<person id>``): ``listed`` denies every request
(``restricted-party``), ``possible`` sends it to ``review`` (``pending-review``),
``cleared`` removes the finding. The registry keeps every version with who and
why; the audit log gets a ``screening`` record for each finding and review.

When screening runs:

- on registration: an observer of the registry screens every entity and person
  written (``on_records``);
- on import: a new list snapshot rescreens everyone the registry and the bundle know;
- on demand: ``screen`` for one name, ``clearance screen`` for a file.

Rules for writing findings, so reviews are never undone by a machine:

- a ``listed`` finding is only ever changed by a reviewer;
- an entry a reviewer cleared for a subject is not raised again for that subject;
- a ``possible`` finding is raised to ``listed`` only by a ``match`` (with
  ``on_match: listed``); a finding is never removed because a list dropped an entry
  (a reviewer clears it).

Fail closed: with no list snapshot imported, one-name screening raises
:class:`ScreeningUnavailable` (never "no match"); registration screening is not in
operation until the first import, and if it fails afterwards the subject gets a
``possible`` finding saying so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.errors import ClearanceError
from ..core.instant import format_instant
from ..observability import metrics
from ..ports import ListSnapshotInfo, ListSnapshotStore, Record
from ..registry.records import PERSON_PREFIX
from .index import NameIndex
from .lists import ListDiff, ListEntry, ParsedList, diff_entries
from .match import MATCH, Matcher, Screening, Thresholds

if TYPE_CHECKING:
    from ..registry.service import RegistryService
    from ..services.audit_log import AuditLog

log = logging.getLogger(__name__)
SOURCE_ORDER = ("csl", "sdn")  # the CSL is newer and wider; merged entries keep its primary name
REASON_MAX = 500


class ScreeningUnavailable(ClearanceError):
    """Screening cannot give an answer (no list imported, lists unreadable); never read as "no match"."""


class ReviewRejected(ClearanceError):
    """A review was refused (no finding, wrong state, no reason); ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Subject:
    """Someone the registry knows, as screening needs them."""

    key: str  # the restriction record's key: ``<entity>`` or ``person:<id>``
    kind: str  # ``entity`` or ``person``
    id: str
    name: str
    countries: tuple[str, ...]
    entity: str | None = None  # a person's employer, for scoped audit readers
    dates_of_birth: tuple[str, ...] = ()
    nationalities: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()

    @property
    def screening_kind(self) -> str:
        return "individual" if self.kind == "person" else "entity"

    def screen_with(self, matcher: Matcher) -> Screening:
        """This subject screened with every fact the registry holds about them as evidence."""
        return matcher.screen(self.name, self.countries, self.screening_kind, dates_of_birth=self.dates_of_birth,
                              nationalities=self.nationalities, ids=self.ids)

    def query(self) -> dict[str, Any]:
        """What was screened, for the audit record."""
        found: dict[str, Any] = {"name": self.name, "countries": list(self.countries), "kind": self.screening_kind}
        for field_name in ("dates_of_birth", "nationalities", "ids"):
            if getattr(self, field_name):
                found[field_name] = list(getattr(self, field_name))
        return found


@dataclass(frozen=True)
class Finding:
    subject: Subject
    status: str
    hit: dict[str, Any]


@dataclass(frozen=True)
class ImportReport:
    snapshot: ListSnapshotInfo
    unchanged: bool
    diff: ListDiff | None = None
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "snapshot": snapshot_dict(self.snapshot),
            "unchanged": self.unchanged,
            "added": len(self.diff.added) if self.diff else None,
            "removed": len(self.diff.removed) if self.diff else None,
            "changed": len(self.diff.changed) if self.diff else None,
            "findings": [{"subject": f.subject.key, "status": f.status, "entry": f.hit["entry"]["uid"],
                          "score": f.hit["score"]} for f in self.findings],
        }


def thresholds_of(registry: RegistryService | None) -> Thresholds:
    """The bundle's ``screening`` section as matcher thresholds (defaults when the bundle has none)."""
    item = registry.sections.single.get("screening") if registry is not None else None
    if item is None:
        return Thresholds()
    spec = item.spec
    return Thresholds(match=spec.match, possible=spec.possible, country_agrees=spec.country_agrees,
                      country_differs=spec.country_differs, kind_differs=spec.kind_differs)


class ScreeningService:
    def __init__(
        self,
        lists: ListSnapshotStore,
        registry: RegistryService | None = None,
        audit: AuditLog | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        self.lists = lists
        self.registry = registry
        self.audit = audit
        self.thresholds = thresholds or thresholds_of(registry)
        item = registry.sections.single.get("screening") if registry is not None else None
        self.on_match = item.spec.on_match if item is not None else "listed"
        self._lock = threading.Lock()
        self._matcher: Matcher | None = None

    # -- lists -----------------------------------------------------------------------------

    def import_list(self, parsed: ParsedList, actor: str, reason: str = "") -> ImportReport:
        """Store ``parsed`` as the live snapshot of its source, then rescreen everyone.

        Importing content identical to the live snapshot stores nothing (``unchanged``).
        """
        previous = self.lists.live().get(parsed.source)
        digest = parsed.content_sha256
        if previous is not None and previous.content_sha256 == digest:
            return ImportReport(previous, unchanged=True)
        info = self.lists.add_snapshot(parsed.source, parsed.label, parsed.list_date, digest, actor, reason,
                                       parsed.counts, [e.to_dict() for e in parsed.entries])
        diff = diff_entries(self.entries(previous.id) if previous else [], list(parsed.entries))
        self._audit({"action": "list-imported", "snapshot": snapshot_dict(info), "added": len(diff.added),
                     "removed": len(diff.removed), "changed": len(diff.changed), "actor": actor, "reason": reason})
        findings = self.rescreen(actor, f"rescreen: list snapshot {info.id} ({info.source} {info.list_date})".strip())
        return ImportReport(info, False, diff, findings)

    def entries(self, snapshot_id: int) -> list[ListEntry]:
        try:
            return [ListEntry.from_dict(d) for d in self.lists.entries(snapshot_id)]
        except KeyError:
            raise ScreeningUnavailable(f"no list snapshot {snapshot_id}") from None

    def diff(self, old: int, new: int) -> ListDiff:
        return diff_entries(self.entries(old), self.entries(new))

    def matcher(self) -> Matcher:
        """The matcher over the live snapshots, rebuilt when another import made a newer one live."""
        live = self.lists.live()
        if not live:
            raise ScreeningUnavailable("no restricted-party list has been imported (clearance lists import)")
        key = tuple(sorted(s.id for s in live.values()))
        with self._lock:
            if self._matcher is None or self._matcher.snapshots != key:
                order = sorted(live.values(), key=lambda s: (_rank(s.source), s.source))
                entries = [e for s in order for e in self.entries(s.id)]
                if not entries:
                    raise ScreeningUnavailable("the live list snapshots hold no entries")
                self._matcher = Matcher(NameIndex(entries), self.thresholds, key)
            return self._matcher

    def screen(
        self, name: str, countries: Iterable[str] = (), kind: str | None = None, limit: int = 5, *,
        dates_of_birth: Iterable[str] = (), nationalities: Iterable[str] = (), ids: Iterable[str] = (),
    ) -> Screening:
        return self.matcher().screen(name, countries, kind, limit, dates_of_birth=dates_of_birth,
                                     nationalities=nationalities, ids=ids)

    def finding_since(self, subject_key: str, seq: int) -> dict[str, Any] | None:
        """The finding screening wrote for ``subject_key`` after registry write ``seq`` (the
        registration itself), as an API answer shows it; ``None`` when screening found nothing."""
        if self.registry is None:
            return None
        record = self.registry.state(kind="restriction").get(("restriction", subject_key))
        if record is None or record.seq <= seq or record.body is None or record.body.get("status") == "cleared":
            return None
        body = record.body
        return {"flagged": True, "subject": subject_key, "status": body.get("status"), "list": body.get("list"),
                "reference": body.get("reference"), "reason": body.get("reason"), "registry_seq": record.seq}

    # -- subjects and findings ---------------------------------------------------------------

    def on_records(self, records: list[Record]) -> None:
        """Registry observer: screen the entities and people just written (restrictions are ignored)."""
        subjects = [s for s in (_subject_of(r) for r in records) if s is not None]
        if not subjects or self.registry is None:
            return
        try:
            if not self.lists.live():
                log.info("screening not in operation: no list imported; %d subject(s) not screened", len(subjects))
                return
            matcher = self.matcher()
        except Exception as exc:  # noqa: BLE001 - any failure to screen must leave a finding, not a pass
            for subject in subjects:
                self._fail_closed(subject, exc)
            return
        for subject in subjects:
            self._reconcile(subject, subject.screen_with(matcher), "screening", "screening on registration")

    def rescreen(self, actor: str = "screening", reason: str = "rescreen") -> list[Finding]:
        """Screen everyone the registry and the bundle know; return the findings written."""
        if self.registry is None:
            return []
        matcher = self.matcher()
        found = []
        for subject in self.subjects():
            finding = self._reconcile(subject, subject.screen_with(matcher), actor, reason)
            if finding is not None:
                found.append(finding)
        return found

    def subjects(self) -> list[Subject]:
        assert self.registry is not None
        policy = self.registry.snapshot()
        found = [Subject(e.id, "entity", e.id, e.name, (e.country,)) for e in policy.entities.values() if e.name]
        for _, record in sorted(self.registry.state(kind="person").items()):
            subject = _subject_of(record)
            if subject is not None:
                found.append(subject)
        return found

    def findings(self, include_cleared: bool = False) -> list[dict[str, Any]]:
        """The registry's restriction records now in force (reviewed or not), newest first."""
        assert self.registry is not None
        rows = []
        for (_, key), record in self.registry.state(kind="restriction").items():
            body = record.body or {}
            if body.get("status") == "cleared" and not include_cleared:
                continue
            rows.append({"subject": key, **body, "recorded_at": record.recorded_at, "actor": record.actor,
                         "note": record.reason, "seq": record.seq})
        return sorted(rows, key=lambda r: -r["seq"])

    def review(self, subject_key: str, action: str, actor: str, reason: str) -> Record:
        """A reviewer's ``clear`` (false alarm) or ``confirm`` (a true match) of a subject's finding."""
        assert self.registry is not None
        if action not in ("clear", "confirm"):
            raise ReviewRejected(422, f"action: `{action}` is not clear or confirm")
        if not reason.strip():
            raise ReviewRejected(422, "reason: a review must say why")
        current = self._effective(subject_key)
        if current is None:
            raise ReviewRejected(404, f"`{subject_key}` has no restricted-party finding")
        if action == "confirm" and current["status"] == "listed":
            raise ReviewRejected(409, f"`{subject_key}` is already confirmed (listed)")
        status = "cleared" if action == "clear" else "listed"
        body = {"status": status, "list": current["list"], "reference": current["reference"], "reason": reason[:REASON_MAX]}
        record = self.registry.put("restriction", subject_key, body, actor=actor, reason=f"{action}: {reason}")
        self._audit({**_ids(subject_key, self._employer(subject_key)), "action": "cleared" if action == "clear" else "confirmed",
                     "status": status, "previous": current["status"], "list": current["list"],
                     "reference": current["reference"], "actor": actor, "reason": reason, "registry_seq": record.seq})
        return record

    # -- internals ---------------------------------------------------------------------------

    def _reconcile(self, subject: Subject, result: Screening, actor: str, reason: str) -> Finding | None:
        assert self.registry is not None
        if not result.tokens:
            self._fail_closed(subject, ValueError(f"the name `{subject.name}` has no letters or digits to screen"))
            return None
        if not result.hits:
            return None
        current = self._effective(subject.key)
        if current is not None and current["status"] == "listed":
            return None
        cleared = self._cleared(subject.key)
        hit = next((h for h in result.hits if h.entry.uid not in cleared), None)
        if hit is None:
            return None
        status = self.on_match if hit.outcome == MATCH else "possible"
        if current is not None and current["status"] == "possible" and status == "possible":
            return None
        body = {"status": status, "list": hit.entry.list_name, "reference": hit.entry.uid,
                "reason": hit.summary()[:REASON_MAX]}
        record = self.registry.put("restriction", subject.key, body, actor=actor, reason=reason)
        metrics.SCREENING_FINDINGS.labels(status).inc()
        explained = hit.to_dict()
        self._audit({**_ids(subject.key, subject.entity), "action": "flagged", "status": status,
                     "query": subject.query(), "hit": explained,
                     "snapshots": list(result.snapshots), "actor": actor, "reason": reason, "registry_seq": record.seq})
        return Finding(subject, status, explained)

    def _fail_closed(self, subject: Subject, exc: Exception) -> None:
        assert self.registry is not None
        log.warning("screening failed for %s (%s); recording a possible finding", subject.key, type(exc).__name__)
        if self._effective(subject.key) is not None:
            return  # already flagged or listed: nothing to add
        body = {"status": "possible", "list": "screening unavailable", "reference": "screening-error",
                "reason": f"screening could not run ({type(exc).__name__}: {exc}); review required"[:REASON_MAX]}
        self.registry.put("restriction", subject.key, body, actor="screening", reason="screening failed: fail closed")
        metrics.SCREENING_FINDINGS.labels("possible").inc()

    def _effective(self, key: str) -> dict[str, Any] | None:
        """The finding in force for ``key``: the registry's, else the bundle's own restriction."""
        assert self.registry is not None
        record = self.registry.state(kind="restriction").get(("restriction", key))
        if record is not None and record.body is not None:
            return None if record.body.get("status") == "cleared" else dict(record.body)
        policy = self.registry.snapshot()
        if key.startswith(PERSON_PREFIX):
            found = policy.restricted_persons.get(key.removeprefix(PERSON_PREFIX))
        else:
            entity = policy.entities.get(key)
            found = entity.restriction if entity is not None else None
        if found is None:
            return None
        return {"status": found.status, "list": found.list, "reference": found.reference, "reason": found.reason}

    def _cleared(self, key: str) -> set[str]:
        assert self.registry is not None
        return {str((r.body or {}).get("reference")) for r in self.registry.history("restriction", key)
                if r.op == "put" and (r.body or {}).get("status") == "cleared"}

    def _employer(self, key: str) -> str | None:
        if not key.startswith(PERSON_PREFIX) or self.registry is None:
            return None
        person = self.registry.person(key.removeprefix(PERSON_PREFIX))
        return person.entity if person is not None else None

    def _audit(self, body: dict[str, Any]) -> None:
        if self.audit is not None:
            self.audit.append("screening", body)


def _subject_of(record: Record) -> Subject | None:
    body = record.body or {}
    if record.op != "put":
        return None
    if record.kind == "entity":
        name = str(body.get("name") or "")
        country = body.get("country")
        return Subject(record.key, "entity", record.key, name, (country,) if country else ()) if name else None
    if record.kind == "person":
        name = str(body.get("name") or "")
        countries = [*body.get("citizenships", []), body.get("permanent_residency"), body.get("location")]
        codes = tuple(dict.fromkeys(c for c in countries if c))
        entity = body.get("entity")
        born = body.get("date_of_birth")
        return Subject(f"{PERSON_PREFIX}{record.key}", "person", record.key, name, codes, entity,
                       dates_of_birth=(born,) if born else (), nationalities=tuple(body.get("citizenships", [])),
                       ids=tuple(body.get("identifiers", []))) if name else None
    return None


def _ids(key: str, employer: str | None) -> dict[str, str]:
    if key.startswith(PERSON_PREFIX):
        return {"person": key.removeprefix(PERSON_PREFIX), **({"entity": employer} if employer else {})}
    return {"entity": key}


def _rank(source: str) -> int:
    return SOURCE_ORDER.index(source) if source in SOURCE_ORDER else len(SOURCE_ORDER)


def snapshot_dict(info: ListSnapshotInfo) -> dict[str, Any]:
    return {"id": info.id, "source": info.source, "label": info.label, "list_date": info.list_date,
            "content_sha256": info.content_sha256, "imported_at": info.imported_at,
            "imported": format_instant(info.imported_at), "actor": info.actor,
            "reason": info.reason, "counts": dict(info.counts)}
