"""Scoring candidates and saying why: match, possible match, or no match.

A name's score pairs every token on each side with its most similar token on
the other side (``index.token_similarity``), weighted by how rare the token is on
the lists, so a reordered or misspelt name still scores high while a missing
rare word costs more than a missing ``trading``. Words split or merged
(``al quds`` / ``alquds``) score 1.0 when the names agree letter for letter
once spaces are ignored. Whole-string similarity (rapidfuzz ``WRatio`` and the
like) was tried and left out: on short names one edit is another company
(``Visa``/``Vista``, ``LG``/``LL``), and it was the main source of false alarms.

Country and kind are supporting evidence: agreement adds a little, a clear
disagreement takes some away, and the explanation says which. Thresholds come
from the policy bundle's ``screening`` section.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .index import NameIndex, token_similarity
from .lists import ListEntry
from .normalize import country_code, name_tokens

MATCH = "match"
POSSIBLE = "possible-match"
NO_MATCH = "no-match"
PEOPLE = frozenset({"individual", "person"})
OBJECTS = frozenset({"vessel", "aircraft"})
PARTIAL_NAME_WEIGHT = 0.5
ESTIMATE_SLACK = 0.3


@dataclass(frozen=True)
class Thresholds:
    """Score bounds of the outcomes and the weight of supporting evidence (see ``ScreeningSpec``)."""

    match: float = 0.92
    possible: float = 0.84
    country_agrees: float = 0.02
    country_differs: float = 0.05
    kind_differs: float = 0.08
    candidates: int = 8


@dataclass(frozen=True)
class Hit:
    """One list entry a query resembles, and why."""

    entry: ListEntry
    matched_name: str
    alias: bool
    score: float
    name_score: float
    method: str
    pairs: tuple[tuple[str, str, float], ...]
    agreed: tuple[str, ...]
    disagreed: tuple[str, ...]
    outcome: str

    def to_dict(self) -> dict[str, Any]:
        e = self.entry
        return {
            "outcome": self.outcome,
            "score": round(self.score, 4),
            "entry": {"uid": e.uid, "list": e.list, "list_name": e.list_name, "name": e.name, "kind": e.kind,
                      "countries": list(e.countries), "programs": e.programs, "reference": e.reference},
            "matched_name": self.matched_name,
            "matched_alias": self.alias,
            "name_score": round(self.name_score, 4),
            "method": self.method,
            "tokens": [{"query": q, "list": t, "similarity": round(s, 3)} for q, t, s in self.pairs],
            "agreed": list(self.agreed),
            "disagreed": list(self.disagreed),
        }

    def summary(self) -> str:
        which = f"alias `{self.matched_name}` of" if self.alias else "name of"
        evidence = "; ".join([*(f"{a} agrees" for a in self.agreed), *(f"{d} differs" for d in self.disagreed)])
        return (f"{self.outcome} ({self.score:.3f}): {which} {self.entry.list} entry {self.entry.uid} "
                f"`{self.entry.name}`" + (f"; {evidence}" if evidence else ""))


@dataclass(frozen=True)
class Screening:
    """The answer for one query: its outcome (that of the best hit) and the hits above ``possible``."""

    query: str
    tokens: tuple[str, ...]
    countries: tuple[str, ...]
    outcome: str
    hits: tuple[Hit, ...] = ()
    snapshots: tuple[int, ...] = field(default=())

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "normalized": " ".join(self.tokens),
            "countries": list(self.countries),
            "outcome": self.outcome,
            "hits": [h.to_dict() for h in self.hits],
            "snapshots": list(self.snapshots),
        }


class Matcher:
    def __init__(self, index: NameIndex, thresholds: Thresholds | None = None, snapshots: tuple[int, ...] = ()) -> None:
        self.index = index
        self.thresholds = thresholds or Thresholds()
        self.snapshots = snapshots

    def screen(self, name: str, countries: Iterable[str] = (), kind: str | None = None, limit: int = 5) -> Screening:
        tokens = name_tokens(name)
        codes = tuple(dict.fromkeys(c for c in (country_code(x) for x in countries) if c))
        if not tokens:
            return Screening(name, tokens, codes, NO_MATCH, (), self.snapshots)
        best: dict[int, Hit] = {}
        # Token pairs recur across candidates; each is compared once per query.
        sims: dict[tuple[str, str], float] = {}
        # A candidate sharing too little weight cannot reach a possible match; the slack covers
        # the difference between the shared-weight estimate and the score (and any bonus).
        hopeless = (self.thresholds.possible - ESTIMATE_SLACK) / 2
        for share, n_id in self.index.candidates(tokens, self.thresholds.candidates):
            if share < hopeless:
                break
            hit = self._score(tokens, n_id, codes, kind, sims)
            held = best.get(self.index.names[n_id].entry)
            if hit.outcome != NO_MATCH and (held is None or hit.score > held.score):
                best[self.index.names[n_id].entry] = hit
        hits = sorted(best.values(), key=lambda h: (-h.score, h.entry.uid))[:limit]
        outcome = hits[0].outcome if hits else NO_MATCH
        return Screening(name, tokens, codes, outcome, tuple(hits), self.snapshots)

    def _score(
        self, query: tuple[str, ...], n_id: int, codes: tuple[str, ...], kind: str | None, sims: dict[tuple[str, str], float]
    ) -> Hit:
        indexed = self.index.names[n_id]
        entry = self.index.entries[indexed.entry]
        person = bool(kind) and kind.lower() in PEOPLE and entry.kind.lower() not in ("entity", *OBJECTS)
        name_score, method, pairs = self.name_score(query, indexed.tokens, person, sims)
        score = name_score
        agreed: list[str] = ["name"] if name_score >= self.thresholds.possible else []
        disagreed: list[str] = []
        if codes and entry.countries:
            common = sorted(set(codes) & set(entry.countries))
            if common:
                agreed.append("country " + ",".join(common))
                score += self.thresholds.country_agrees
            else:
                disagreed.append(f"country ({','.join(codes)} vs {','.join(entry.countries)})")
                score -= self.thresholds.country_differs
        if kind and entry.kind and _kind_differs(kind, entry.kind):
            disagreed.append(f"kind ({kind} vs {entry.kind})")
            score -= self.thresholds.kind_differs
        score = max(0.0, min(1.0, score))
        outcome = MATCH if score >= self.thresholds.match else POSSIBLE if score >= self.thresholds.possible else NO_MATCH
        return Hit(entry, indexed.text, indexed.alias, score, name_score, method, pairs, tuple(agreed),
                   tuple(disagreed), outcome)

    def name_score(
        self, query: tuple[str, ...], listed: tuple[str, ...], person: bool = False,
        sims: dict[tuple[str, str], float] | None = None,
    ) -> tuple[float, str, tuple[tuple[str, str, float], ...]]:
        """0..1 with how it was reached and each query token's counterpart.

        ``person``: a person's name given in full but without some listed names (a middle
        name, a patronymic) loses half as much for each missing name, since people are
        often written without them; organizations are not, since a missing word there
        is usually another organization.
        """
        weight = self.index.weight
        sims = {} if sims is None else sims
        # Each word is paired at most once, best pairs first: "Aleph Alpha" must not spend
        # the one listed word "Aleph" twice.
        ranked = sorted(
            ((_sim(q, t, sims), i, j) for i, q in enumerate(query) for j, t in enumerate(listed)), reverse=True
        )
        q_sim = [0.0] * len(query)
        t_sim = [0.0] * len(listed)
        partner = [""] * len(query)
        for sim, i, j in ranked:
            if sim and not q_sim[i] and not t_sim[j]:
                q_sim[i] = t_sim[j] = sim
                partner[i] = listed[j]
        pairs = tuple(zip(query, partner, q_sim, strict=True))
        total = covered = 0.0
        for q, sim in zip(query, q_sim, strict=True):
            w = weight(q)
            total += w
            covered += w * sim
        lenient = person and len(query) >= 2 and all(q_sim)
        for t, sim in zip(listed, t_sim, strict=True):
            w = weight(t) * (PARTIAL_NAME_WEIGHT if lenient and not sim else 1.0)
            total += w
            covered += w * sim
        score, method = (covered / total if total else 0.0), "tokens"
        if len(query) != len(listed) and _joined(query) == _joined(listed):
            score, method = 1.0, "joined"
        return score, method, pairs


def _joined(tokens: tuple[str, ...]) -> str:
    # Plural endings are stripped word by word, so "al quds" and "alquds" (made "alqud") agree.
    return "".join(t.rstrip("s") for t in tokens)


def _sim(a: str, b: str, seen: dict[tuple[str, str], float]) -> float:
    found = seen.get((a, b))
    if found is None:
        found = seen[(a, b)] = token_similarity(a, b)
    return found


def _kind_differs(query_kind: str, entry_kind: str) -> bool:
    query_person = query_kind.lower() in PEOPLE
    entry_person = entry_kind.lower() in PEOPLE
    if entry_kind.lower() in OBJECTS:
        return query_person
    return query_person != entry_person
