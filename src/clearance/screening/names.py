"""How far two names agree, word by word, and what kind of agreement it is.

Each word on each side is paired with at most one word on the other side, best
pairs first (``index.token_similarity``: exact, one or two edits in a long word,
a transliteration variant). Then the shapes people write names in:

- **joined or split words**: a word on one side that is two neighbouring words
  on the other (``blackrock`` / ``black rock``) pairs with both;
- **initials** (people only): a short word whose letters are the first letters
  of unpaired given names on the other side (``J. M. Doe`` / ``DOE, John
  Michael``), in any order;
- **missing names** (people only): a listed name the query leaves out (a middle
  name, a patronymic) costs little when every word of the query found its pair.

The score is the rarity-weighted share of both names' words that found a pair,
times their similarity, so a missing rare word costs more than a missing
``trading``. For an organization, a listed word the query lacks costs more than
its weight: a missing word there usually means another organization (``Best Buy``
is not ``BUY BEST ELECTRONIC``). The result records every departure from an
exact agreement, which the matcher turns into reasons not to call a ``match``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .normalize import FILLER_WORDS, near_legal_form

JOINED_SIM = 0.95  # a word written joined or apart is the same word, but not written the same
INITIAL_SIM = 0.85  # an initial stands for a name without saying which
MISSING_GIVEN_WEIGHT = 0.3  # a person's listed name the query leaves out
MISSING_ORG_WEIGHT = 1.5  # an organization's listed word the query leaves out
MAX_INITIALS = 3


@dataclass(frozen=True, slots=True)
class NameAgreement:
    score: float
    method: str  # ``tokens``, ``joined``, ``initials``
    pairs: tuple[tuple[str, str, float], ...]  # each query word, its counterpart ("" if none), similarity
    unpaired_query: tuple[str, ...]
    unpaired_listed: tuple[str, ...]
    initials: bool
    inexact: bool  # some pair is a typo, a variant or a join rather than the same word
    respelt: bool = False  # some pair is a typo or a variant: not the same letters (a join keeps them)
    misspelt_forms: tuple[str, ...] = ()  # query words read as legal forms with a typo, left out

    @property
    def complete(self) -> bool:
        """Every word on both sides found a counterpart."""
        return not self.unpaired_query and not self.unpaired_listed


def compare(
    query: tuple[str, ...],
    listed: tuple[str, ...],
    weight: Callable[[str], float],
    similarity: Callable[[str, str], float],
    person: bool,
) -> NameAgreement:
    """The agreement of ``query`` with ``listed``; ``person``: both may be a person's name."""
    ranked = sorted(((similarity(q, t), i, j) for i, q in enumerate(query) for j, t in enumerate(listed)), reverse=True)
    q_sim = [0.0] * len(query)
    t_sim = [0.0] * len(listed)
    q_partner: list[list[int]] = [[] for _ in query]
    t_partner: list[list[int]] = [[] for _ in listed]
    # Same words first, then words run together, then near spellings: "alsalameh" is "al salameh",
    # not a misspelt "salameh" beside a missing "al".
    _pair_ranked([r for r in ranked if r[0] == 1.0], q_sim, t_sim, q_partner, t_partner)
    q_joined = _pair_joined(query, listed, q_sim, t_sim, q_partner, t_partner)
    t_joined = _pair_joined(listed, query, t_sim, q_sim, t_partner, q_partner)
    q_joined |= _pair_filler(query, listed, q_sim, t_sim, q_partner, t_partner)
    _pair_ranked([r for r in ranked if r[0] < 1.0], q_sim, t_sim, q_partner, t_partner)
    q_initials = _pair_initials(query, listed, q_sim, t_sim, q_partner, t_partner) if person else set()
    t_initials = _pair_initials(listed, query, t_sim, q_sim, t_partner, q_partner) if person else set()
    q_weight = [_weight_of(i, query, listed, q_partner, q_joined, q_initials, weight) for i in range(len(query))]
    # An unpaired word at either end of the query that is a legal form with a typo ("CnJSC",
    # "Ocrp") weighs nothing, as the form would; paired ("cord" / "corad") it is a word.
    for i in {0, len(query) - 1} if len(query) > 1 and not person else ():
        if not q_sim[i] and near_legal_form(query[i]):
            q_weight[i] = 0.0
            q_sim[i] = -1.0  # neither paired nor missing
    t_weight = [_weight_of(j, listed, query, t_partner, t_joined, t_initials, weight) for j in range(len(listed))]
    # One word never stands for a person's whole name: the leniency needs two.
    lenient = person and len(query) >= 2 and all(q_sim)
    total = covered = 0.0
    for w, sim in zip(q_weight, q_sim, strict=True):
        total += w
        covered += w * sim
    for w, sim in zip(t_weight, t_sim, strict=True):
        if not sim:
            w *= MISSING_GIVEN_WEIGHT if lenient else (1.0 if person else MISSING_ORG_WEIGHT)
        total += w
        covered += w * sim
    score = covered / total if total else 0.0
    pairs = tuple((q, " ".join(listed[j] for j in q_partner[i]), max(q_sim[i], 0.0)) for i, q in enumerate(query))
    initials = bool(q_initials or t_initials)
    # A word written joined or apart keeps its letters; a typo or a variant does not.
    joined_q = q_joined | {i for j in t_joined for i in t_partner[j]}
    joined_t = t_joined | {j for i in q_joined for j in q_partner[i]}
    respelt = any(0 < s < 1 and i not in joined_q for i, s in enumerate(q_sim)) or any(
        0 < s < 1 and j not in joined_t for j, s in enumerate(t_sim))
    method = "initials" if initials else "joined" if q_joined or t_joined else "tokens"
    return NameAgreement(
        score, method, pairs,
        tuple(q for q, s in zip(query, q_sim, strict=True) if not s),
        tuple(t for t, s in zip(listed, t_sim, strict=True) if not s),
        initials, any(0 < s < 1 for s in (*q_sim, *t_sim)), respelt,
        tuple(q for q, s in zip(query, q_sim, strict=True) if s < 0),
    )


def _pair_ranked(ranked: list[tuple[float, int, int]], q_sim: list[float], t_sim: list[float],
                 q_partner: list[list[int]], t_partner: list[list[int]]) -> None:
    for sim, i, j in ranked:
        if sim and not q_sim[i] and not t_sim[j]:
            q_sim[i] = t_sim[j] = sim
            q_partner[i].append(j)
            t_partner[j].append(i)


def _weight_of(i: int, words: tuple[str, ...], other: tuple[str, ...], partners: list[list[int]], joined: set[int],
               initials: set[int], weight: Callable[[str], float]) -> float:
    # An initial weighs what the names it stands for weigh (the letter itself says little); a
    # joined word weighs what its parts weigh on average (as a whole it is usually unknown).
    if i in initials:
        return sum(weight(other[j]) for j in partners[i])
    if i in joined:
        return sum(weight(other[j]) for j in partners[i]) / len(partners[i])
    return weight(words[i])


def _pair_joined(a: tuple[str, ...], b: tuple[str, ...], a_sim: list[float], b_sim: list[float],
                 a_partner: list[list[int]], b_partner: list[list[int]]) -> set[int]:
    """Pair each unpaired word of ``a`` that is two unpaired neighbouring words of ``b`` run together."""
    found: set[int] = set()
    for i, word in enumerate(a):
        if a_sim[i] or len(word) < 4:
            continue
        for j in range(len(b) - 1):
            if b_sim[j] or b_sim[j + 1]:
                continue
            # "al" is also written "el" (normalized apart, but not inside a joined word).
            pieces = {_strip_s(b[j] + b[j + 1]), _strip_s(b[j]) + _strip_s(b[j + 1])}
            if b[j] == "al":
                pieces.add("el" + _strip_s(b[j + 1]))
            pieces.add(b[j] + "s" + _strip_s(b[j + 1]))  # "bussinesmx": the plural ending stripped apart
            if _strip_s(word) in pieces:
                a_sim[i] = b_sim[j] = b_sim[j + 1] = JOINED_SIM
                a_partner[i] += [j, j + 1]
                b_partner[j].append(i)
                b_partner[j + 1].append(i)
                found.add(i)
                break
    return found


def _pair_filler(a: tuple[str, ...], b: tuple[str, ...], a_sim: list[float], b_sim: list[float],
                 a_partner: list[list[int]], b_partner: list[list[int]]) -> set[int]:
    """Pair each unpaired word of ``a`` that is a filler run onto an unpaired word of ``b``
    ("andtrade" / "and trade", "cubanade" / "cubana de"): the filler itself is dropped on both sides."""
    found: set[int] = set()
    for i, word in enumerate(a):
        if a_sim[i] or len(word) < 5:
            continue
        for j, other in enumerate(b):
            if b_sim[j] or len(other) < 3 or not word.startswith(other) and not word.endswith(other):
                continue
            rest = word[len(other):] if word.startswith(other) else word[: len(word) - len(other)]
            if rest in FILLER_WORDS and len(rest) >= 2:
                a_sim[i] = b_sim[j] = JOINED_SIM
                a_partner[i].append(j)
                b_partner[j].append(i)
                found.add(i)
                break
    return found


def _pair_initials(a: tuple[str, ...], b: tuple[str, ...], a_sim: list[float], b_sim: list[float],
                   a_partner: list[list[int]], b_partner: list[list[int]]) -> set[int]:
    """Pair each unpaired short word of ``a`` whose letters begin unpaired names of ``b``.

    Needs a name on each side that agrees in full (a surname): initials alone say nothing.
    """
    found: set[int] = set()
    if not any(s >= 0.75 and len(w) >= 2 for w, s in zip(a, a_sim, strict=True)):
        return found
    for i, word in enumerate(a):
        if a_sim[i] or len(word) > MAX_INITIALS or not word.isalpha():
            continue
        chosen: list[int] = []
        for letter in word:
            j = next((j for j, t in enumerate(b) if not b_sim[j] and j not in chosen and len(t) > 1
                      and t[0] == letter), None)
            if j is None:
                break
            chosen.append(j)
        else:
            a_sim[i] = INITIAL_SIM
            for j in chosen:
                b_sim[j] = INITIAL_SIM
                b_partner[j].append(i)
            a_partner[i] += chosen
            found.add(i)
    return found


def _strip_s(word: str) -> str:
    # Plural endings are stripped word by word, so "al quds" and "alquds" (made "alqud") agree.
    return word.rstrip("s")
