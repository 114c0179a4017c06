"""Seeded request mixes for the decision benchmarks, generated from any policy.

Why a generator rather than a fixed file: the same code must produce a realistic
mix for the shipped example bundle *and* for the 10,000-entity scaled bundle,
so everything it picks (models, entities, use cases, country groups, the
instants where something changes) is read from the :class:`Policy` object.
Nothing about the example world is hard-coded here; the few literals are
plausible country codes and UTC offsets that any regime may meet.

The mix deliberately covers every branch of ``decide()``: unknown ids, persons
that are malformed for the deemed-export rules, restricted parties, home and
foreign persons, embargoed and allied locations, employers that differ from
the entity, and instants placed exactly on (and one nanosecond or half a
nanosecond around) every boundary of every timeline, written in many offsets,
so that inclusive ends and offset handling are exercised, not just sampled.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from clearance.core.model import Policy

NS = 1_000_000_000
WINDOW_START = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp()) * NS
WINDOW_END = int(datetime(2027, 2, 1, tzinfo=UTC).timestamp()) * NS - 1  # ..2027-01-31 inclusive
OFFSETS = ("Z", "+00:00", "-04:00", "-05:00", "-07:00", "-10:00", "+01:00", "+05:30", "+09:00", "+12:45", "+14:00")
# Countries that no group of a typical regime names: plain "rest of the world" destinations.
ELSEWHERE = ("IN", "SG", "BR", "MX", "NG", "AE", "IL", "CH", "PL", "ZA", "AR", "TH")
ACTIONS = (("inference", 85), ("fine-tune", 10), ("weights-download", 5))


def format_instant(ns: int, offset: str, sub_ns: bool = False) -> str:
    """ISO-8601 text of ``ns`` (epoch nanoseconds) as seen in ``offset``.

    ``sub_ns`` appends a tenth digit (half a nanosecond later), the case where
    clearance keeps an exact ``Fraction`` instead of an integer.
    """
    minutes = 0 if offset == "Z" else (1 if offset[0] == "+" else -1) * (int(offset[1:3]) * 60 + int(offset[4:6]))
    secs, frac = divmod(ns, NS)
    local = datetime(1970, 1, 1) + timedelta(seconds=secs, minutes=minutes)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if frac or sub_ns:
        text += f".{frac:09d}" + ("5" if sub_ns else "")
    return text + offset


def boundaries(policy: Policy) -> list[int]:
    """Every instant at which some model's state, an authorization or a suspension changes."""
    found = set()
    for m in policy.models:
        found.update(c.at for c in m.timeline)
    for a in policy.authorizations:
        found.add(a.start)
        if a.end is not None:
            found.add(a.end)
        for s in a.suspensions:
            found.add(s.start)
            if s.end is not None:
                found.add(s.end)
    return sorted(found)


class Workload:
    """Draws request documents (decoded JSON, as the contract describes) from one policy."""

    def __init__(self, policy: Policy, seed: int, population: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.policy = policy
        self.home = policy.jurisdiction.country
        self.models = [m.id for m in policy.models]
        self.entities = [e.id for e in policy.entities]
        self.use_cases = [uc for c in policy.use_case_classes for uc in c.use_cases]
        groups = _resolved(policy)
        embargoed = set().union(*(groups[g] for g in policy.jurisdiction.embargo_groups))
        grouped = set().union(*groups.values()) - {self.home}
        self.embargoed = sorted(embargoed)
        self.grouped = sorted(grouped - embargoed)  # allies, concern, ...: whatever the groups name
        self.elsewhere = [c for c in ELSEWHERE if c not in grouped and c != self.home]
        self.candidates = self._candidates(policy)
        self.restricted_persons = [p.id for p in policy.persons if p.restriction is not None]
        self.edges = boundaries(policy)
        # Real traffic comes from a finite set of people who keep their nationality,
        # employer and usual location, and who mostly call the same model or two for
        # the same purpose (a service account, a team's tool). With a population,
        # each request draws one of them; 90% of their requests follow a habit.
        self.people: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = []
        for i in range(population or 0):
            model = self.rng.choice(self.models)
            entity = self.entity(model)
            person = self.person(self.entities)
            if person.get("employer") == "__same__":
                person["employer"] = entity
            person["id"] = person.get("id", f"p-{i:06d}")
            habits = [(model, self.rng.choice(self.use_cases))]
            for _ in range(self.rng.choice((0, 1, 2))):
                habits.append((self.rng.choice(self.models), self.rng.choice(self.use_cases)))
            self.people.append((entity, person, habits))
        # Live traffic is decided at "now": a population's requests fall within one day.
        self.day = self.rng.randrange(WINDOW_START, WINDOW_END - 86_400 * NS) if population else None

    def _candidates(self, policy: Policy) -> dict[str, list[str]]:
        """For each model, entities some authorization of it covers: so the mix has permits."""
        by_designation: dict[str, list[str]] = {}
        for e in policy.entities:
            for d in e.designations:
                by_designation.setdefault(d, []).append(e.id)
        developers = {m.id: m.developer for m in policy.models}
        out: dict[str, set[str]] = {}
        for a in policy.authorizations:
            cov = a.coverage
            for mid in a.models:
                pool = out.setdefault(mid, set())
                pool.update(cov.entities)
                for d in cov.designations:
                    pool.update(by_designation.get(d, ())[:50])
                if cov.model_developer and developers.get(mid):
                    pool.add(developers[mid])
                for s in a.suspensions:
                    if s.entity:
                        pool.add(s.entity)
        return {m: sorted(v) for m, v in out.items()}

    def country(self) -> str:
        """A foreign country: mostly grouped ones, some elsewhere, a few embargoed."""
        r = self.rng.random()
        pool = self.grouped if r < 0.55 else self.elsewhere if r < 0.9 else self.embargoed
        return self.rng.choice(pool or self.elsewhere)

    def person(self, entities: list[str]) -> dict[str, Any]:
        rng, home = self.rng, self.home
        r = rng.random()
        p: dict[str, Any] = {}
        if r < 0.35:  # home citizen, sometimes dual
            p["citizenships"] = [home] if rng.random() < 0.8 else [self.country(), home]
        elif r < 0.45:  # foreign citizen, home permanent resident
            p["citizenships"] = [self.country()]
            p["permanent_residency"] = home
        elif r < 0.995:  # foreign person
            p["citizenships"] = [self.country() for _ in range(rng.choice((1, 1, 1, 2)))]
            if rng.random() < 0.2:
                p["permanent_residency"] = self.country()
            if rng.random() < 0.3:
                p["deemed_country"] = home if rng.random() < 0.03 else rng.choice([*p["citizenships"], self.country()])
        else:  # foreign with no nationality facts at all: invalid under the deemed-export rules
            p["citizenships"] = []
        if rng.random() < 0.04:
            p["citizenships"] = [c.lower() for c in p["citizenships"]]  # codes are upper-cased by the parser
        r = rng.random()
        p["location"] = home if r < 0.6 else self.country()
        r = rng.random()
        if r < 0.05:
            p["employer"] = rng.choice(entities)
        elif r < 0.1:
            p["employer"] = "__same__"
        r = rng.random()
        if r < 0.02 and self.restricted_persons:
            p["id"] = rng.choice(self.restricted_persons)
        elif r < 0.8:
            p["id"] = f"p-{rng.randrange(100_000):05d}"
        return p

    def instant(self) -> str:
        rng = self.rng
        offset = rng.choice(OFFSETS)
        if self.day is not None:
            return format_instant(self.day + rng.randrange(86_400) * NS, offset)
        if self.edges and rng.random() < 0.08:
            edge = rng.choice(self.edges)
            r = rng.random()
            if r < 0.2:
                return format_instant(edge, offset, sub_ns=True)  # half a nanosecond after
            if r < 0.4:
                return format_instant(edge - 1, offset, sub_ns=True)  # half a nanosecond before
            return format_instant(edge + rng.choice((-NS, -1, 0, 0, 0, 1, NS // 2)), offset)
        ns = rng.randrange(WINDOW_START, WINDOW_END)
        if rng.random() < 0.7:
            ns -= ns % NS  # whole seconds, as most clients write them
        return format_instant(ns, offset)

    def entity(self, model: str) -> str:
        rng = self.rng
        pool = self.candidates.get(model)
        r = rng.random()
        if r < 0.02:
            return f"unknown-entity-{rng.randrange(9)}"
        if pool and r < 0.6:
            return rng.choice(pool)
        return rng.choice(self.entities)

    def request(self) -> dict[str, Any]:
        rng = self.rng
        model = f"unknown-model-{rng.randrange(9)}" if rng.random() < 0.02 else rng.choice(self.models)
        use_case = f"unknown-use-{rng.randrange(9)}" if rng.random() < 0.02 else rng.choice(self.use_cases)
        if self.people:
            entity, known, habits = rng.choice(self.people)
            person = dict(known)
            if rng.random() < 0.9:
                model, use_case = rng.choice(habits)
        else:
            entity = self.entity(model)
            person = self.person(self.entities)
            if person.get("employer") == "__same__":
                person["employer"] = entity
        doc: dict[str, Any] = {"model": model, "entity": entity, "person": person, "use_case": use_case}
        action = rng.choices([a for a, _ in ACTIONS], [w for _, w in ACTIONS])[0]
        if action != "inference" or rng.random() < 0.5:
            doc["action"] = action
        doc["at"] = self.instant()
        return doc

    def requests(self, n: int) -> list[dict[str, Any]]:
        return [self.request() for _ in range(n)]


def _resolved(policy: Policy) -> dict[str, set[str]]:
    by_id = {g.id: g for g in policy.country_groups}
    out: dict[str, set[str]] = {}

    def resolve(gid: str, depth: int = 0) -> set[str]:
        if gid not in out:
            g = by_id[gid]
            out[gid] = set(g.countries).union(*(resolve(i, depth + 1) for i in g.includes if depth < 32))
        return out[gid]

    for gid in by_id:
        resolve(gid)
    return out
