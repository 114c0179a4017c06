"""Scoring candidates and saying why: match, possible match, or no match.

A name's score is the agreement of its words with a listed name's
(:mod:`.names`): rarity-weighted, forgiving typos, transliterations, joined
words, initials and a person's missing middle names. Whole-string similarity
(rapidfuzz ``WRatio`` and the like) was tried and left out: on short names one
edit is another company (``Visa``/``Vista``, ``LG``/``LL``).

Evidence beside the name (:mod:`.evidence`) then moves the score: a country,
nationality or date of birth that agrees adds a little; one that differs takes
away, and so does a kind that cannot be the listed party's (a company is never a
vessel, a person never a company), strongly when both sides state it.

``match`` denies every request, so it needs more than a high score: every word
on both sides paired, no initials standing in for names, no contrary evidence,
not a vessel or aircraft unless the query says so, and more than a few letters.
A hit with a high score that fails any of these is a ``possible-match``, and its
``reasons`` say why. A short name or acronym (``M&G``, ``LG``, ``3M``) is never
flagged on its letters alone: it needs an agreeing country or identifier, and
then it is at most a possible match. An identifier, or a full date of birth,
that agrees lifts the name-shape limits (initials, missing names): it says who
the party is better than the spelling does.

Thresholds come from the policy bundle's ``screening`` section.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .evidence import OBJECTS, ORGANIZATION, PERSON, Evidence, compare_countries, compare_dates, compare_ids, entry_kind
from .index import COMMON_POSTINGS, SWAP_SIM, NameIndex, token_similarity
from .lists import ListEntry
from .names import NameAgreement, compare
from .normalize import LEGAL_WORDS, is_organization_name, name_tokens

MATCH = "match"
POSSIBLE = "possible-match"
NO_MATCH = "no-match"
PEOPLE = frozenset({"individual", "person"})
ESTIMATE_SLACK = 0.3
INITIALS_SHARE = 0.5  # a candidate kept for its initials is scored whatever its estimated share
INITIALS_SCAN = 800  # names read per whole word of a query with initials
SHORT_NAME_LETTERS = 4  # a name this short (legal forms aside) never matches, and needs its exact letters
LETTER_DROPPED_LETTERS = 6  # one word a letter longer than another, this long or longer, is a slip to review
RARE_WORD_NAMES = 10  # a word on this many listed names or fewer is a proper name, not a dictionary word
SLIP_LETTERS = 3  # ... and with an agreeing country, this long or longer
ACRONYM_LETTERS = 3  # ... and this short ("LG", "3M", "M&G") also needs an agreeing country or identifier
# Words that say a listed name is an organization's, for entries the list does not type.
_ORG_WORDS = frozenset({
    "bank", "group", "trading", "institute", "university", "plant", "factory", "center", "ministry", "foundation",
    "organization", "enterprise", "industry", "airline", "shipping", "service", "holding", "front", "army",
    "brigade", "party", "council", "office", "bureau", "agency", "network", "association", "committee", "academy",
    "international", "technology", "electronic", "system", "import", "export", "logistic", "general", "national",
})


@dataclass(frozen=True)
class Thresholds:
    """Score bounds of the outcomes and the weight of supporting evidence (see ``ScreeningSpec``)."""

    match: float = 0.92
    possible: float = 0.84
    country_agrees: float = 0.02
    country_differs: float = 0.05
    kind_differs: float = 0.08  # a kind told only by a legal form differs from the entry's
    candidates: int = 8
    kind_conflict: float = 0.2  # both sides state kinds that cannot be the same party
    object_unsaid: float = 0.12  # the entry is a vessel or aircraft; the query does not say what it is
    date_agrees: float = 0.04
    date_differs: float = 0.15
    id_agrees: float = 0.1


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
    reasons: tuple[str, ...] = ()  # why a high score is not a match, or what was forgiven

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
            "reasons": list(self.reasons),
        }

    def summary(self) -> str:
        which = f"alias `{self.matched_name}` of" if self.alias else "name of"
        evidence = "; ".join([*(f"{a} agrees" for a in self.agreed), *(f"{d} differs" for d in self.disagreed),
                              *self.reasons])
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
        self._personal = lru_cache(maxsize=None)(self._looks_personal)

    def screen(
        self, name: str, countries: Iterable[str] = (), kind: str | None = None, limit: int = 5, *,
        dates_of_birth: Iterable[str] = (), nationalities: Iterable[str] = (), ids: Iterable[str] = (),
    ) -> Screening:
        """Screen one name; ``countries``, ``kind``, dates of birth, nationalities and ids are evidence."""
        evidence = Evidence.of(name, tuple(countries), kind, tuple(dates_of_birth), tuple(nationalities), tuple(ids))
        written = name_tokens(name)
        tokens = tuple(t for w in written for t in self.index.unfuse(w)) or written
        if not tokens:
            return Screening(name, tokens, evidence.countries, NO_MATCH, (), self.snapshots)
        best: dict[int, Hit] = {}
        # Token pairs recur across candidates; each is compared once per query.
        sims: dict[tuple[str, str], float] = {}
        # A candidate sharing too little weight cannot reach a possible match; the slack covers
        # the difference between the shared-weight estimate and the score (and any bonus).
        hopeless = (self.thresholds.possible - ESTIMATE_SLACK) / 2
        for share, n_id in self._candidates(tokens):
            if share < hopeless:
                break
            hit = self._score(tokens, n_id, evidence, sims)
            held = best.get(self.index.names[n_id].entry)
            if hit.outcome != NO_MATCH and (held is None or _rank(hit) > _rank(held)):
                best[self.index.names[n_id].entry] = hit
        hits = sorted(best.values(), key=lambda h: (-_rank(h)[0], -h.score, h.entry.uid))[:limit]
        outcome = hits[0].outcome if hits else NO_MATCH
        return Screening(name, tokens, evidence.countries, outcome, tuple(hits), self.snapshots)

    def _candidates(self, tokens: tuple[str, ...]) -> list[tuple[float, int]]:
        limit = self.thresholds.candidates
        names, vocab, postings = self.index.names, self.index.vocab, self.index.postings
        # Short words that may be initials; a short word on many names ("al", "abd", "bin") is a word.
        letters = [w for w in tokens if len(w) == 1 or (len(w) <= 3 and w.isalpha() and (
            w not in vocab or len(postings[vocab[w]]) <= COMMON_POSTINGS))]
        if not letters or len(tokens) < 2:
            return self.index.candidates(tokens, limit)
        # Initials leave many names alike (every listed "KIM" for "M. J. Kim") and share little
        # weight with the query: names that hold the query's whole words and begin other words with
        # the initials' letters are scored whatever their estimated share.

        def fits(n_id: int) -> bool:
            held = names[n_id].tokens
            firsts = [t[0] for t in held if t not in tokens]
            return all(w in held or all(firsts.count(ch) >= w.count(ch) for ch in w) for w in letters)

        whole = [w for w in tokens if w in vocab and vocab[w] not in self.index.pairs_only]
        anchors = [vocab[w] for w in whole if len(w) > 3] or [vocab[w] for w in whole]
        found = {n_id: share for share, n_id in self.index.candidates(tokens, limit * 4)}
        for t_id in sorted(anchors, key=lambda t: len(postings[t]))[:1]:
            for n_id in postings[t_id][:INITIALS_SCAN]:
                found.setdefault(n_id, 0.0)
        fitting = sorted((n for n in found if fits(n)), key=lambda n: (-found[n], len(names[n].tokens), n))
        kept = {n: max(found[n], INITIALS_SHARE) for n in fitting[: limit * 4]}
        for n_id, share in sorted(found.items(), key=lambda c: -c[1])[:limit]:
            kept.setdefault(n_id, share)
        return sorted(((share, n_id) for n_id, share in kept.items()), key=lambda c: (-c[0], c[1]))

    def _score(self, query: tuple[str, ...], n_id: int, ev: Evidence, sims: dict[tuple[str, str], float]) -> Hit:
        t = self.thresholds
        indexed = self.index.names[n_id]
        entry = self.index.entries[indexed.entry]
        listed_kind = entry_kind(entry)
        personal = listed_kind == PERSON or (listed_kind is None and self._personal(indexed.entry))
        person = personal and ev.kind in (None, PERSON)
        name = self.name_agreement(query, indexed.tokens, person, sims)
        score = name.score
        agreed: list[str] = ["name"] if name.score >= t.possible else []
        disagreed: list[str] = []
        limits: list[str] = []  # what keeps a high score from being a match
        contrary = False
        said, _ = compare_countries(ev.countries, entry.countries)
        if said == "agrees":
            agreed.append("country " + ",".join(sorted(set(ev.countries) & set(entry.countries))))
            score += t.country_agrees
        elif said == "differs":
            disagreed.append(f"country ({','.join(ev.countries)} vs {','.join(entry.countries)})")
            score -= t.country_differs
            contrary = True
        said, detail = compare_countries(ev.nationalities, entry.nationalities)
        if said == "agrees":
            agreed.append(f"nationality {detail}")
            score += t.country_agrees
        elif said == "differs":
            disagreed.append(f"nationality ({detail})")
            score -= t.country_differs
            contrary = True
        said, detail = compare_dates(ev.dates_of_birth, entry.dates_of_birth)
        exact_date = said == "agrees" and len(detail) == 10
        if said == "agrees":
            agreed.append(f"date of birth {detail}")
            score += t.date_agrees
        elif said == "differs":
            disagreed.append(f"date of birth ({detail})")
            score -= t.date_differs
            contrary = True
        same_id = compare_ids(ev.ids, entry.ids)
        if same_id is not None:
            agreed.append(f"identifier {same_id}")
            score += t.id_agrees
        if listed_kind in OBJECTS and ev.kind not in OBJECTS:
            if ev.kind is None:
                score -= t.object_unsaid
                limits.append(f"the listed party is a {listed_kind}; the query does not say it is one")
            else:
                score -= t.kind_conflict
                disagreed.append(f"kind ({ev.kind} vs {listed_kind})")
                contrary = True
        elif ev.kind and listed_kind and _conflict(ev.kind, listed_kind):
            disagreed.append(f"kind ({_kind_word(ev)} vs {entry.kind})")
            score -= t.kind_conflict if ev.kind_said == "given" or listed_kind == PERSON else t.kind_differs
            contrary = True
        proven = same_id is not None or exact_date
        if not proven:
            limits += _name_limits(name, person)
        score = max(0.0, min(1.0, score))
        outcome = MATCH if score >= t.match else POSSIBLE if score >= t.possible else NO_MATCH
        # Initials are short by nature: there the listed names they stand for say how long the name is.
        letters = min(_letters(indexed.tokens), _letters(query) if not name.initials else 99)
        # A one-word name a letter short of (or over) a rare listed one in the country it is listed
        # in ("LOO"/"LOMO", RU) is worth a review, however short: a brand is seldom one letter off
        # a listed name of its own country.
        slip = len(query) == 1 and len(indexed.tokens) == 1 and not contrary \
            and _letter_dropped(query[0], indexed.tokens[0], SLIP_LETTERS) and self._rare(indexed.tokens[0]) \
            and (any(a.startswith("country") for a in agreed) or (not ev.countries and _legal_form_agrees(ev, entry)))
        # In a longer name whose other words agree letter for letter, one rare short word a letter
        # short or over ("Mot Technology" / "Most Technology") is a slip worth a review.
        slip = slip or (len(query) >= 2 and not contrary and name.complete and not name.initials
                        and self._one_word_slip(name.pairs))
        if slip and outcome == NO_MATCH:
            outcome = POSSIBLE
            limits.append("one letter left out or added in a short word, the other words the same"
                          if len(query) >= 2 else "one letter left out or added, in the country the listed party is in"
                          + ("" if any(a.startswith("country") for a in agreed) else " (by its legal form)"))
        if letters <= SHORT_NAME_LETTERS and outcome != NO_MATCH:
            # Written joined or apart ("CKID" / "CK ID"), a short name keeps its exact letters.
            exact = (name.complete and not name.respelt and not contrary) or slip
            supported = same_id is not None or any(a.startswith("country") for a in agreed)
            # A legal form of one country's law ("OOO GAS") says where the company is registered.
            form = "" if supported or ev.countries else _legal_form_agrees(ev, entry)
            if not exact or (letters <= ACRONYM_LETTERS and not (supported or form)):
                outcome = NO_MATCH
            limits.append("a short name or acronym: its letters alone are not enough"
                          + ("" if outcome == NO_MATCH or letters > ACRONYM_LETTERS else
                             f"; its legal form is of {form}, where the listed party is" if form and not supported
                             else "; the country agrees"))
        if outcome != NO_MATCH and not slip and len(query) == 1 and len(indexed.tokens) == 1 and name.inexact \
                and name.score < SWAP_SIM - 1e-9 and not proven and not any(a.startswith("country") for a in agreed):
            # One word that differs by a letter, with nothing else said, is as often another brand
            # ("Gartner"/"Partner", "Cemex"/"Cimex") as the same name misspelt. A letter left out or
            # added in a long rare word ("Vertesk"/"Veresk") is a slip more often: it goes to review.
            # A common word with a letter added is a coined brand ("Entergy"/"energy").
            if _letter_dropped(query[0], indexed.tokens[0]) and self._rare(indexed.tokens[0]):
                limits.append("one word that differs in spelling by a letter left out or added, with no other evidence")
            else:
                outcome = NO_MATCH
                limits.append("one word that differs in spelling, with no other evidence")
        if outcome == MATCH and len(query) == 1 and len(indexed.tokens) == 1 and not proven \
                and not any(a.startswith(("country", "nationality")) for a in agreed):
            # One word ("Citadel", "Forum", "Delta") names many organizations around the world.
            limits.append("a one-word name: the word alone is not enough for a match")
        if outcome == MATCH and (limits or contrary):
            outcome = POSSIBLE
        if contrary and outcome == POSSIBLE:
            limits.append("contrary evidence: " + "; ".join(disagreed))
        return Hit(entry, indexed.text, indexed.alias, score, name.score, name.method, name.pairs, tuple(agreed),
                   tuple(disagreed), outcome, tuple(limits))

    def name_agreement(self, query: tuple[str, ...], listed: tuple[str, ...], person: bool = False,
                       sims: dict[tuple[str, str], float] | None = None) -> NameAgreement:
        seen = {} if sims is None else sims

        def similarity(a: str, b: str) -> float:
            found = seen.get((a, b))
            if found is None:
                found = seen[(a, b)] = token_similarity(a, b)
            return found

        return compare(query, listed, self.index.weight, similarity, person)

    def name_score(
        self, query: tuple[str, ...], listed: tuple[str, ...], person: bool = False,
        sims: dict[tuple[str, str], float] | None = None,
    ) -> tuple[float, str, tuple[tuple[str, str, float], ...]]:
        """0..1 with how it was reached and each query token's counterpart (see :mod:`.names`)."""
        found = self.name_agreement(query, listed, person, sims)
        return found.score, found.method, found.pairs

    def _one_word_slip(self, pairs: tuple[tuple[str, str, float], ...]) -> bool:
        off = [(q, t) for q, t, sim in pairs if sim < 1.0]
        return len(off) == 1 and " " not in off[0][1] and _letter_dropped(*off[0], SLIP_LETTERS) \
            and self._rare(off[0][1])

    def _rare(self, token: str) -> bool:
        """A word on few listed names: a proper name rather than a dictionary word."""
        t_id = self.index.vocab.get(token)
        return t_id is not None and len(self.index.postings[t_id]) <= RARE_WORD_NAMES

    def _looks_personal(self, entry_id: int) -> bool:
        """An untyped entry (BIS and State lists) whose name reads as a person's: two to four words,
        none of them a legal form or an organization's word."""
        entry = self.index.entries[entry_id]
        words = name_tokens(entry.name)
        return 2 <= len(words) <= 5 and not is_organization_name(entry.name) and not any(
            w in _ORG_WORDS or w in LEGAL_WORDS for w in words)


def _name_limits(name: NameAgreement, person: bool) -> list[str]:
    found = []
    if name.initials:
        found.append("given names written as initials")
    if name.unpaired_listed:
        what = "listed name(s)" if person else "listed word(s)"
        found.append(f"the query leaves out {what} `{' '.join(name.unpaired_listed)}`")
    if name.misspelt_forms:
        found.append(f"`{' '.join(name.misspelt_forms)}` read as a misspelt legal form")
    if name.unpaired_query:
        found.append(f"word(s) `{' '.join(name.unpaired_query)}` are not in the listed name")
    return found


def _letter_dropped(a: str, b: str, shortest: int = 0) -> bool:
    """One letter more in one of two words at least ``shortest`` long, the rest the same ("vertesk"/"veresk")."""
    short, long = sorted((a, b), key=len)
    return len(long) == len(short) + 1 and len(short) >= (shortest or LETTER_DROPPED_LETTERS) and any(
        long[:i] + long[i + 1:] == short for i in range(len(long)))


def _legal_form_agrees(ev: Evidence, entry: ListEntry) -> str:
    return ",".join(sorted(set(ev.legal_countries) & set(entry.countries)))


def _rank(hit: Hit) -> tuple[int, float]:
    return ({MATCH: 2, POSSIBLE: 1}.get(hit.outcome, 0), hit.score)


def _letters(tokens: tuple[str, ...]) -> int:
    return sum(len(t) for t in tokens)


def _conflict(query_kind: str, listed_kind: str) -> bool:
    if listed_kind in OBJECTS or query_kind in OBJECTS:
        return query_kind != listed_kind
    return (query_kind == PERSON) != (listed_kind == PERSON)


def _kind_word(ev: Evidence) -> str:
    word = "individual" if ev.kind == PERSON else "entity" if ev.kind == ORGANIZATION else str(ev.kind)
    return word + (" by its legal form" if ev.kind_said == "legal form" else "")
