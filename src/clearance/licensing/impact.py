"""Impact analysis: replay audited requests under a proposed policy and say who gains or loses access.

Each audited decision carries the request as decided (its ``at`` filled in) and
the decision given. The request is decided again under the proposed policy and
the two outcomes compared: *gained* (now permitted), *lost* (no longer
permitted), *recoded* (same outcome, another code).

Replaying a million requests must take seconds, so the replay leans on what
``decide`` itself guarantees: a verdict depends only on the request's facts
(model, entity, use case, employment, destinations by role) and the timeline
segment its instant falls in.

- Requests are grouped by their fields other than ``at``, ``action`` and the
  person's ``id`` (each checked on its own: they change no verdict once valid,
  except a restricted person's id, which stays in the group). A group is parsed
  once, by the contract's own parser.
- Destinations are replaced by the first country seen that every rule of the
  policy treats alike (home or not, the same country groups, the same
  destination lists), so people no rule can tell apart share a verdict.
- Instants are grouped by their local day (date and offset parsed once a day,
  the time of day checked by a pattern). A day in which no timeline of the
  proposed policy changes lies within one stretch between changes, where every
  model stays in one segment; on a day that holds a change the instant is placed
  exactly.

Anything the fast path does not recognise is decided by ``decide_json``; a
property test holds the fast path to ``decide_json`` on arbitrary requests.

Against a live registry (:class:`RegistryTimeline`), each audited request is decided
under the policy the server would have had *at that record's instant* with the proposal
applied: the proposed bundle (or the current one plus proposed changes) overlaid with the
registry's records valid and known at that instant (the store is bitemporal). Registry
state only changes at the instants its rows were recorded or take effect, so records
between two such instants share one compiled policy and one replayer: an identical bundle
replays to zero changes, and a change made after a decision never counts against it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.decide import decide_json, evaluate
from ..core.decision import Code, Outcome
from ..core.errors import RequestError
from ..core.index import CompiledPolicy
from ..core.instant import InstantError, instant_key, parse_instant
from ..core.model import DEEMED, LOCATION
from ..core.request import _PERSON_FIELDS, _REQUEST_FIELDS, ACTIONS, Request, _identifier, parse_request
from ..core.steps.destinations import resolve

NS = 1_000_000_000
DAY = 86_400 * NS
# A valid time of day and an offset; the date and the offset's range are checked once per day.
_FAST = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9])(?:[.,]([0-9]+))?)?(Z|z|[+-][0-9]{2}:[0-9]{2})"
)
_INVALID = (Outcome.DENY.value, Code.INVALID_REQUEST.value)
_PERSON_KEYS = ("citizenships", "permanent_residency", "deemed_country", "location", "employer", "id")
_REQUEST_KEYS = ("model", "entity", "use_case", "at")
_WITHIN = -1  # a change falls within the day: place the instant exactly
_EXACT = -2  # the date or the offset is not valid: let the core say why


@dataclass
class Replayer:
    """Decides audited requests under ``policy``, caching what may be cached (see the module docstring)."""

    policy: CompiledPolicy
    # fields other than `at` -> [parsed fields, verdict per stretch between changes, facts]
    templates: dict[Any, list[Any]] = field(default_factory=dict)
    people: dict[Any, Any] = field(default_factory=dict)
    days: dict[Any, tuple[int, int]] = field(default_factory=dict)
    facts: dict[Any, tuple[str, str]] = field(default_factory=dict)
    classes: dict[Any, str] = field(default_factory=dict)
    breaks: list[int] = field(default_factory=list)
    lists: list[frozenset[str]] = field(default_factory=list)
    restricted: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.restricted = self.policy.restricted_persons
        # Every instant where any model's timeline changes: between two of them, every model
        # stays within one of its segments, so a verdict holds for the whole stretch.
        self.breaks = sorted({b for m in self.policy.models.values() for b in m.breaks})
        self.lists = [
            a.destination_rule(role).countries for a in self.policy.policy.authorizations for role in (DEEMED, LOCATION)
        ]

    def outcome(self, request: Any) -> tuple[str, str]:
        """``(outcome, code)`` of ``request`` under the proposed policy."""
        if type(request) is not dict:
            return _INVALID
        p = request.get("person")
        if type(p) is not dict or not (request.keys() <= _REQUEST_FIELDS and p.keys() <= _PERSON_FIELDS):
            return self._exact(request)
        # `action` and the person's `id` change no verdict once valid (the core's memo leaves
        # them out too), except a restricted person's id; an invalid one voids the request.
        cz, residency, deemed, location, employer, pid = map(p.get, _PERSON_KEYS)
        action = request.get("action")
        if (action is not None and action not in ACTIONS) or (pid is not None and (not isinstance(pid, str) or not pid)):
            return _INVALID
        if type(cz) is list:
            cz = tuple(cz)
        elif cz is not None:
            return self._exact(request)
        model, entity, use_case, raw = map(request.get, _REQUEST_KEYS)
        tkey = (model, entity, use_case, cz, residency, deemed, location, employer, pid if pid in self.restricted else None)
        try:
            template = self.templates.get(tkey)
        except TypeError:  # a field that is no JSON scalar (a list for a model, say): the slow way
            return self._exact(request)
        if template is None:
            template = self.templates[tkey] = self._template(request, tkey)
        parsed = template[0]
        if parsed is _INVALID:
            return _INVALID
        m = _FAST.fullmatch(raw) if type(raw) is str else None
        if m is None:
            return self._exact(request)
        dkey = m.group(1, 6)
        day = self.days.get(dkey)
        if day is None:
            day = self.days[dkey] = self._day(*dkey)
        stretch, start = day
        if stretch < 0:
            if stretch == _EXACT:
                return self._exact(request)
            _, hh, mm, ss, frac, _ = m.groups()
            if frac is not None and len(frac) > 9:
                return self._exact(request)
            start += ((int(hh) * 60 + int(mm)) * 60 + int(ss or 0)) * NS + int((frac or "0").ljust(9, "0"))
            stretch = bisect_right(self.breaks, instant_key(start))
        found = template[1][stretch]
        if found is None:
            facts = template[2]
            found = self.facts.get((facts, stretch)) if facts is not None else None
            if found is None:
                model, entity, use_case, person = parsed
                # Any instant of the stretch decides alike; the start of the day seen is one. The
                # steps are evaluated as ``decide_uncached`` does: this cache replaces the core's memo.
                request = Request(model, entity, use_case, person, start)
                index = self.policy.models.get(model)
                v = evaluate(self.policy, request, bisect_right(index.breaks, request.at_key) if index is not None else 0)
                found = (str(v.outcome), str(v.code))
                if facts is not None:
                    self.facts[(facts, stretch)] = found
            template[1][stretch] = found
        return found

    def _template(self, request: dict[str, Any], tkey: Any) -> list[Any]:
        """``[parsed fields, verdict per stretch, facts]`` for requests alike but for ``at``.

        The facts are what the core's own memo keys a verdict by (model, entity, use case,
        employment, destinations by role), with each destination replaced by the first
        country seen of its class, so people who differ only in ways no rule can tell
        apart share one verdict.
        """
        invalid = [_INVALID, None, None]
        try:
            model, entity, use_case = (_identifier(request, name) for name in ("model", "entity", "use_case"))
        except RequestError:
            return invalid
        pkey = tkey[3:]
        person = self.people.get(pkey)
        if person is None:
            person = self.people[pkey] = self._person(request["person"])
        if person is _INVALID:
            return invalid
        ref, dests = person
        facts = None if dests is None else (model, entity, use_case, ref.employer is None or ref.employer == entity, dests, tkey[-1])
        return [(model, entity, use_case, ref), [None] * (len(self.breaks) + 1), facts]

    def _person(self, person: Any) -> Any:
        """The person parsed by the contract's rules and their destinations by class, or ``_INVALID``."""
        try:
            ref = parse_request({"model": "m", "entity": "e", "use_case": "u", "person": person}, now=0).person
        except RequestError:
            return _INVALID
        try:
            dests, _ = resolve(ref, self.policy.home, self.policy.deemed_rule)
        except RequestError:
            return ref, None  # invalid under the deemed-export rules: the core says why, per request
        return ref, tuple((role, self._class(country)) for role, country in dests)

    def _class(self, country: str) -> str:
        """The first country seen that every rule of the policy treats as it treats ``country``:
        home or not, and membership of every country group and every destination list."""
        p = self.policy
        signature = (
            country == p.home,
            frozenset(g for g, members in p.groups.items() if country in members),
            tuple(country in countries for countries in self.lists),
        )
        return self.classes.setdefault(signature, country)

    def _day(self, day: str, offset: str) -> tuple[int, int]:
        """The stretch between changes that holds the whole (local) day and the day's first instant;
        ``_WITHIN`` when a change falls within the day, ``_EXACT`` when the date or offset is invalid."""
        try:
            start = parse_instant(f"{day}T00:00{offset}")
        except InstantError:
            return _EXACT, 0
        assert isinstance(start, int)
        first = bisect_right(self.breaks, instant_key(start))
        last = bisect_right(self.breaks, instant_key(start + DAY) - 1)
        return (first if first == last else _WITHIN), start

    def _exact(self, request: Any) -> tuple[str, str]:
        d = decide_json(self.policy, request)
        return str(d.outcome), str(d.code)


def classify(old: tuple[str, str], new: tuple[str, str]) -> str | None:
    if old == new:
        return None
    if old[0] != Outcome.PERMIT and new[0] == Outcome.PERMIT:
        return "gained"
    if old[0] == Outcome.PERMIT and new[0] != Outcome.PERMIT:
        return "lost"
    return "recoded"


class RegistryTimeline:
    """The proposed policy as a registry-backed server would have held it at each instant.

    ``sections`` is the proposed bundle's (or the current bundle's); ``changes``, proposed
    registry changes (``with_changes``' documents, already checked) applied on top of the
    registry's state at every instant. One :class:`Replayer` per stretch between registry
    changes; a few are kept, since records of several writers may interleave a little.
    """

    KEPT = 8

    def __init__(self, service: Any, sections: Any, changes: list[dict[str, Any]] | None = None) -> None:
        from ..registry.service import POLICY_KINDS

        self.service = service
        self.sections = sections
        self.changes = changes or []
        # Read once: the state at each instant is then computed here, not queried per stretch.
        self.rows = [r for r in service.store.changes_since(0) if r.kind in POLICY_KINDS]
        self.instants = sorted({r.recorded_at for r in self.rows} | {r.valid_from for r in self.rows})
        self._epochs: dict[int, Replayer] = {}
        self._by_version: dict[str, Replayer] = {}
        self.epochs = 0  # statistics: policies compiled

    def replayer_at(self, at_ns: int) -> Replayer:
        epoch = bisect_right(self.instants, at_ns)
        found = self._epochs.get(epoch)
        if found is None:
            if len(self._epochs) >= self.KEPT:
                self._epochs.pop(next(iter(self._epochs)))
                self._by_version = {r.policy.version: r for r in self._epochs.values()}
            policy = self.policy_at(at_ns)
            self.epochs += 1
            # A registry change that leaves the proposed policy as it was (same content hash)
            # keeps the warm replayer: its verdicts still hold.
            found = self._by_version.get(policy.version) or Replayer(policy)
            self._epochs[epoch] = self._by_version[policy.version] = found
        return found

    def state_at(self, at_ns: int) -> dict[tuple[str, str], Any]:
        """The registry's policy rows valid and known at ``at_ns``: ``RegistryStore.state``'s rule (per key,
        the greatest ``(valid_from, seq)`` among rows with both instants ``<= at_ns``), over the rows read once."""
        winners: dict[tuple[str, str], Any] = {}
        for r in self.rows:
            if r.valid_from <= at_ns and r.recorded_at <= at_ns:
                key = (r.kind, r.key)
                best = winners.get(key)
                if best is None or (r.valid_from, r.seq) > (best.valid_from, best.seq):
                    winners[key] = r
        return {key: r for key, r in winners.items() if r.op == "put"}

    def policy_at(self, at_ns: int) -> CompiledPolicy:
        """The proposed policy with the registry as valid and as known at ``at_ns``; ``InputError`` if it does not load."""
        from ..core.errors import PolicyError
        from ..policy.snapshot import snapshot
        from ..registry.overlay import Entry, overlay
        from .record import InputError

        merged = {(r.kind, r.key): Entry(r.kind, r.key, r.body or {}, f"{r.kind}/{r.key}@{r.seq}")
                  for r in self.state_at(at_ns).values() if r.op == "put"}
        for i, c in enumerate(self.changes):
            if c.get("record") is None:
                merged.pop((c["kind"], c["key"]), None)
            else:
                merged[(c["kind"], c["key"])] = Entry(c["kind"], c["key"], c["record"], f"proposed[{i}]")
        try:
            return snapshot(overlay(self.sections, merged.values()))
        except PolicyError as exc:
            raise InputError([f"with the registry as of {at_ns} ns: {p}" for p in exc.problems]) from None


def replay(
    proposed: CompiledPolicy, records: Iterable[tuple[Any, ...]], examples: int = 3,
    timeline: RegistryTimeline | None = None,
) -> dict[str, Any]:
    """Compare every audited decision in ``records`` with the proposed policy's.

    ``records`` yields ``(seq, decision body)``, or ``(seq, body, at_ns)`` (what ``audited``
    yields); with a ``timeline`` each record is decided under the proposal as of its ``at_ns``.
    """
    base = Replayer(proposed)
    totals: Counter[str] = Counter()
    dims: dict[str, dict[str, Counter[str]]] = {d: defaultdict(Counter) for d in ("entity", "model", "use_case")}
    codes: Counter[str] = Counter()
    shown: dict[str, list[dict[str, Any]]] = {"gained": [], "lost": [], "recoded": []}
    replayed = skipped = 0
    for item in records:
        seq, body = item[0], item[1]
        request, recorded = body.get("request"), body.get("decision")
        if type(recorded) is not dict or type(request) is not dict:
            skipped += 1
            continue
        replayed += 1
        replayer = base if timeline is None or len(item) < 3 else timeline.replayer_at(item[2])
        old = (recorded.get("outcome"), recorded.get("code"))
        new = replayer.outcome(request)
        if old == new:
            continue
        kind = classify(old, new)  # type: ignore[arg-type]
        assert kind is not None
        totals[kind] += 1
        for dim in dims:
            value = request.get(dim)
            dims[dim][value if isinstance(value, str) else "(invalid)"][kind] += 1
        codes[f"{old[0]}/{old[1]} -> {new[0]}/{new[1]}"] += 1
        if len(shown[kind]) < examples:
            now = decide_json(replayer.policy, request).to_dict()
            shown[kind].append({"seq": seq, "request": request, "recorded": recorded, "proposed": now})
    return {
        "proposed_policy_version": proposed.version,
        **({"registry_states": timeline.epochs} if timeline is not None else {}),
        "replayed": replayed,
        "skipped": skipped,
        "unchanged": replayed - sum(totals.values()),
        "gained": totals["gained"],
        "lost": totals["lost"],
        "recoded": totals["recoded"],
        "lost_entities": sorted(e for e, c in dims["entity"].items() if c["lost"]),
        "gained_entities": sorted(e for e, c in dims["entity"].items() if c["gained"]),
        **{f"by_{dim}": {k: dict(v) for k, v in sorted(found.items())} for dim, found in dims.items()},
        "by_code": dict(codes.most_common()),
        "examples": shown,
    }


def audited(store: Any, since_ns: int | None = None, until_ns: int | None = None, page: int = 10_000) -> Iterable[tuple[int, Mapping[str, Any], int]]:
    """Audited decisions of a period, ``(seq, body, at_ns)``, from an :class:`~clearance.ports.AuditStore`, page by page."""
    after = None
    while True:
        found = store.query(kinds=["decision"], since_ns=since_ns, until_ns=until_ns, after_seq=after, limit=page)
        for record in found:
            yield record.seq, record.body, record.at_ns
        if len(found) < page:
            return
        after = found[-1].seq


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Impact of policy `{report['proposed_policy_version']}`",
        "",
        f"Replayed {report['replayed']:,} audited requests ({report['skipped']:,} skipped): "
        f"{report['gained']:,} would gain access, {report['lost']:,} would lose it, {report['recoded']:,} change code, "
        f"{report['unchanged']:,} unchanged.",
        "",
        f"- lose access: {', '.join(report['lost_entities']) or 'nobody'}",
        f"- gain access: {', '.join(report['gained_entities']) or 'nobody'}",
        "",
    ]
    for dim in ("entity", "model", "use_case"):
        rows = report[f"by_{dim}"]
        if rows:
            lines += [f"| {dim} | gained | lost | recoded |", "|---|---|---|---|"]
            lines += [f"| {k} | {v.get('gained', 0)} | {v.get('lost', 0)} | {v.get('recoded', 0)} |" for k, v in rows.items()]
            lines.append("")
    if report["by_code"]:
        lines += ["| recorded -> proposed | requests |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in report["by_code"].items()]
        lines.append("")
    for kind, found in report["examples"].items():
        for ex in found:
            r, old, new = ex["request"], ex["recorded"], ex["proposed"]
            lines.append(
                f"- {kind}, seq {ex['seq']}: {r.get('entity')} {r.get('model')} {r.get('use_case')} at {r.get('at')}: "
                f"{old.get('outcome')}/{old.get('code')} -> {new['outcome']}/{new['code']} ({new['reasons'][0]['message']})"
            )
    return "\n".join(lines) + "\n"


def with_changes(registry: Any, changes: list[Any], at: int) -> CompiledPolicy:
    """The policy the registry would give at ``at`` if ``changes`` (``[{kind, key, record}]``) were written.

    Each change is held to the rules a registry write is (schema and cross-references);
    a bad one raises ``InputError`` naming it. Nothing is written.
    """
    from ..core.errors import PolicyError
    from ..policy.snapshot import snapshot
    from ..registry.overlay import KINDS, Entry, overlay
    from .record import InputError

    problems = []
    merged = {(r.kind, r.key): Entry(r.kind, r.key, r.body or {}, f"{r.kind}/{r.key}@{r.seq}") for r in registry.policy_state(at).values() if r.op == "put"}
    if not isinstance(changes, list):
        raise InputError(["(document): must be a list of {kind, key, record} objects"])
    for i, c in enumerate(changes):
        if not isinstance(c, dict) or set(c) - {"kind", "key", "record"} or not isinstance(c.get("key"), str):
            problems.append(f"[{i}]: must be an object with kind, key and record (null to retire)")
            continue
        if c.get("kind") not in KINDS:
            problems.append(f"[{i}].kind: must be one of {', '.join(KINDS)}")
            continue
        if c.get("record") is None:
            merged.pop((c["kind"], c["key"]), None)
        elif isinstance(c["record"], dict):
            merged[(c["kind"], c["key"])] = Entry(c["kind"], c["key"], c["record"], f"proposed[{i}]")
        else:
            problems.append(f"[{i}].record: must be an object, or null to retire")
    if problems:
        raise InputError(problems)
    try:
        return snapshot(overlay(registry.sections, merged.values()))
    except PolicyError as exc:
        raise InputError([str(p) for p in exc.problems]) from None
