"""The candidate index: from a query's tokens to the few list names worth scoring.

Every name and alias of every entry is normalized once into tokens. Three maps
lead from a query token to list tokens that may be the same word:

- the token itself;
- its deletion neighbourhood (the token with any one letter removed), which
  finds every list token within one insertion, deletion, substitution or
  adjacent transposition, the typos people make;
- its phonetic skeleton, which finds transliteration variants
  (``muhammad``/``mohammed``, ``aleksandr``/``alexander``).

Adjacent tokens are also indexed joined (``al quds`` under ``alquds``) so a
split or merged word still meets its counterpart. Candidate names are then
ranked by the inverse-document-frequency weight of the tokens they share with
the query; rare tokens are followed through their postings, common ones
(``trading``, ``international``) only add weight to names already found, so a
query costs a few dictionary look-ups and short lists, never a scan of the list.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA

from .lists import ListEntry
from .normalize import (
    ABBREVIATED,
    ABBREVIATIONS,
    CONTEXT_LEGAL_WORDS,
    FILLER_WORDS,
    LEGAL_WORDS,
    NAME_VARIANTS,
    is_legal_word,
    name_tokens,
    near_legal_form,
    singular,
    skeleton,
)

MIN_FUZZY_LEN = 4  # shorter tokens must match exactly (or by skeleton): "li" vs "lu" is not a typo
TOKEN_FLOOR = 0.75  # below this two tokens are different words
SKELETON_SIM = 0.8  # what a transliteration variant counts as when spelling alone says less
EDIT_COST = 1.0  # similarity lost per edit, times the word's length
# Added to every token's inverse document frequency, so that dropping a common word
# (``bank``, ``group``) still costs something.
WEIGHT_FLOOR = 3.0
COMMON_POSTINGS = 400  # tokens on more names than this only reinforce candidates found otherwise
CANDIDATE_FLOOR = 0.3
SWAP_SIM = 0.9
SHORT_EDIT_SIM = 0.75
ARABIC_PREFIXES = ("al", "el", "abu", "bin", "ibn")
FUSABLE_FILLERS = tuple(sorted((w for w in FILLER_WORDS if len(w) >= 2), key=len, reverse=True))


@dataclass(frozen=True, slots=True)
class IndexedName:
    entry: int  # position in ``NameIndex.entries``
    text: str  # the name as the list writes it
    alias: bool
    tokens: tuple[str, ...]
    weight: float  # sum of the tokens' weights


class NameIndex:
    """An immutable index over the names of ``entries`` (entries with one uid are merged)."""

    def __init__(self, entries: Iterable[ListEntry]) -> None:
        self.entries: list[ListEntry] = merge_entries(entries)
        self.names: list[IndexedName] = []
        self.vocab: dict[str, int] = {}
        self.tokens: list[str] = []
        postings: list[list[int]] = []
        raw: list[tuple[int, str, bool, tuple[str, ...]]] = []
        for e_id, entry in enumerate(self.entries):
            seen: set[tuple[str, ...]] = set()
            for i, text in enumerate(entry.names()):
                tokens = name_tokens(text)
                if tokens and tokens not in seen:
                    seen.add(tokens)
                    raw.append((e_id, text, i > 0, tokens))
        singles: set[str] = set()
        for n_id, (_, _, _, tokens) in enumerate(raw):
            singles.update(tokens)
            # Ordered (not a set), so token ids and every answer are the same from run to run.
            keys = dict.fromkeys((*tokens, *(singular(a + b) for a, b in zip(tokens, tokens[1:], strict=False))))
            for key in keys:
                t_id = self.vocab.get(key)
                if t_id is None:
                    t_id = self.vocab[key] = len(self.tokens)
                    self.tokens.append(key)
                    postings.append([])
                postings[t_id].append(n_id)
        total = len(raw) + 1
        self.postings: list[tuple[int, ...]] = [tuple(p) for p in postings]
        self.common_sets = {t_id: frozenset(p) for t_id, p in enumerate(self.postings) if len(p) > COMMON_POSTINGS}
        self.idf: list[float] = [math.log(total / (len(p) + 0.5)) + WEIGHT_FLOOR for p in postings]
        self.max_idf = math.log(total / 0.5) + WEIGHT_FLOOR
        for e_id, text, alias, tokens in raw:
            # Postings hold a name once per word, so a repeated word ("Huawei ... (Huawei)")
            # counts once here too, or the name would rank below names that say it once.
            weight = sum(self.idf[self.vocab[t]] for t in set(tokens))
            self.names.append(IndexedName(e_id, text, alias, tokens, weight))
        self.name_weights: list[float] = [n.weight for n in self.names]
        self.deletions: dict[str, list[int]] = {}
        self.skeletons: dict[str, list[int]] = {}
        self.pairs_only = frozenset(t_id for token, t_id in self.vocab.items() if token not in singles)
        # Bounded, per index: a long-running process meets the same words ("trading", "bank") again.
        self._similar = lru_cache(maxsize=65_536)(self.similar_tokens)
        # Joined pairs are found exactly only: their typos are rare and would double the index.
        for token in sorted(singles):
            t_id = self.vocab[token]
            if len(token) >= MIN_FUZZY_LEN:
                for key in {token, *_deletes(token)}:
                    self.deletions.setdefault(key, []).append(t_id)
            key = skeleton(token)
            if len(key) >= 2:
                self.skeletons.setdefault(key, []).append(t_id)

    def unfuse(self, token: str) -> tuple[str, ...]:
        """An unknown word that is a listed word fused with a filler word ("andtechnology",
        "logisticsand") as that listed word; any other word as itself."""
        if token in self.vocab or len(token) < 5:
            return (token,)
        for i in range(3, len(token) - 2):
            if _is_legal_piece(token[:i]) and _is_legal_piece(token[i:]):
                return ()  # "publicjoint", "jointstock": a legal form run together
        for prefix in ARABIC_PREFIXES:  # "alhussein" is "al husayn"
            rest = NAME_VARIANTS.get(token[len(prefix):], token[len(prefix):])
            if token.startswith(prefix) and len(rest) >= 3 and rest in self.vocab:
                return ("al" if prefix == "el" else prefix, rest)
        if self._similar(token):
            return (token,)  # a misspelt listed word, not two words run together
        # A filler goes first: "cubanade" is "cubana de", not "cuba nade".
        for filler in FUSABLE_FILLERS:
            for rest in (token.removeprefix(filler), token.removesuffix(filler)):
                if rest != token and len(rest) >= 3 and singular(rest) in self.vocab:
                    return (singular(rest),)
        for i in range(4, len(token) - 3):  # "servicesagency", "chamsmoney": two listed words run together
            # ... or abbreviations of them ("techsolutions", "spacecentre")
            first, second = (_expand(singular(w)) for w in (token[:i], token[i:]))
            if first in self.vocab and second in self.vocab and self.vocab[first] not in self.pairs_only \
                    and self.vocab[second] not in self.pairs_only:
                return (first, second)
        for i in range(4, len(token) - 1):  # "transdoo", "gruppakompanii": a legal form run onto a word
            if singular(token[:i]) in self.vocab and is_legal_word(token[i:]):
                return (singular(token[:i]),)
        for i in range(len(token) - 2, 2, -1):  # "corporacionacs", "ooogas": a legal form run onto the front
            if is_legal_word(token[:i]):
                # The word reached here with its plural "s" stripped ("corporacionacs" -> "...ac").
                rest = next((r for r in (token[i:], token[i:] + "s") if len(r) >= 3
                             and r in self.vocab and self.vocab[r] not in self.pairs_only), None)
                if rest is not None:
                    return (rest,)
        return (token,)

    def weight(self, token: str) -> float:
        t_id = self.vocab.get(token)
        return self.max_idf if t_id is None else self.idf[t_id]

    def clear_memos(self) -> None:
        """Forget the similar words found so far (benchmarks measure cold look-ups)."""
        self._similar.cache_clear()

    def similar_tokens(self, token: str) -> dict[int, float]:
        """List tokens that may be ``token`` misspelt or transliterated, with their similarity."""
        found: dict[int, float] = {}
        exact = self.vocab.get(token)
        if exact is not None:
            found[exact] = 1.0
        near: set[int] = set()
        if len(token) >= MIN_FUZZY_LEN:
            for key in (token, *_deletes(token)):
                near.update(self.deletions.get(key, ()))
        elif len(token) == MIN_FUZZY_LEN - 1:
            near.update(self.deletions.get(token, ()))  # a letter left out of a four-letter word
        for full, shorts in ABBREVIATED.items():  # "tceh": a typo in an abbreviation the list expanded
            t_id = self.vocab.get(full)
            if t_id is not None and t_id not in found and any(
                    OSA.distance(token, short, score_cutoff=1) <= 1 for short in shorts):
                near.add(t_id)
        key = skeleton(token)
        phonetic = set(self.skeletons.get(key, ())) if len(key) >= 2 else set()
        for t_id in sorted(near | phonetic):
            if t_id in found:
                continue
            sim = token_similarity(token, self.tokens[t_id], t_id in phonetic)
            if sim:
                found[t_id] = sim
        return found

    def candidates(self, tokens: tuple[str, ...], limit: int) -> list[tuple[float, int]]:
        """Up to ``limit`` ``(share, name id)``, best first: ``share`` is the weight a name shares
        with ``tokens`` over both names' weight, about half the score the name will get."""
        postings, idf = self.postings, self.idf
        matched: dict[int, float] = {}
        best_of_token: list[tuple[int, str]] = []
        for key in tokens:
            found = self._similar(key)
            if found:
                best_of_token.append((max(found, key=lambda t: (found[t], -len(postings[t]), -t)), key))
            for t_id, sim in found.items():
                if sim > matched.get(t_id, 0.0):
                    matched[t_id] = sim
        for key in tokens:
            if key not in self.vocab and len(key) >= 6:
                # "empresaslh": two listed words run together with the first one's plural "s" kept
                # (the index holds the pair as "empresalh").
                for i in range(3, len(key) - 2):
                    t_id = self.vocab.get(key[:i] + key[i + 1:]) if key[i] == "s" else None
                    if t_id is not None and t_id in self.pairs_only:
                        matched[t_id] = 1.0
        for a, b in zip(tokens, tokens[1:], strict=False):
            # A joined pair meets a listed word exactly ("al quds" / "alquds"); meeting the same
            # joined pair would count the two words twice.
            t_id = self.vocab.get(singular(a + b))
            if t_id is not None and t_id not in self.pairs_only:
                matched[t_id] = 1.0
        if not matched:
            return []
        # Names are found through rare words; common ones only add weight to names found so,
        # unless the query has no rare word, when its words' best matches are followed anyway.
        # A word of three letters or fewer (initials, an acronym) finds too much by chance to anchor.
        anchored = any(len(postings[t]) <= COMMON_POSTINGS for t, key in best_of_token if len(key) > 3)
        best_of_token = [t for t, _ in best_of_token]
        follow = {t for t in matched if len(postings[t]) <= COMMON_POSTINGS}
        if not anchored:
            follow.update(best_of_token)
        scores: dict[int, float] = {}
        get = scores.get
        for t_id in sorted(follow, key=lambda t: (len(postings[t]), t)):
            gain = idf[t_id] * matched[t_id]
            for n_id in postings[t_id]:
                scores[n_id] = get(n_id, 0.0) + gain
        for t_id, sim in sorted(matched.items()):
            if t_id in follow:
                continue
            gain = idf[t_id] * sim
            common = self.common_sets.get(t_id)
            if common is not None and len(scores) < len(common):
                for n_id in scores:  # fewer names found than hold this word: look them up instead
                    if n_id in common:
                        scores[n_id] += gain
                continue
            for n_id in postings[t_id]:
                if n_id in scores:
                    scores[n_id] += gain
        # A short word may be initials, which stand for names the query weight should not
        # count as unknown words.
        # A legal form with a typo at either end ("cnjsc") may weigh nothing (see ``names``).
        ends = {tokens[0], tokens[-1]} if len(tokens) > 1 else set()
        query_weight = sum(0.0 if t in ends and t not in self.vocab and near_legal_form(t)
                           else min(self.weight(t), 2 * WEIGHT_FLOOR) if len(t) <= 3 else self.weight(t)
                           for t in set(tokens))
        # A name sharing less than this much weight with the query cannot reach a possible match
        # (its score is at most about twice the shared weight over both names' weight).
        floor = CANDIDATE_FLOOR * query_weight
        weights = self.name_weights
        pool = [(acc / (query_weight + weights[n]), n) for n, acc in scores.items() if acc >= floor]
        return heapq.nlargest(limit, pool)


@lru_cache(maxsize=262_144)  # bounded: a long-running API process keeps it
def token_similarity(a: str, b: str, phonetic: bool | None = None) -> float:
    """How alike two tokens are, 0 or ``TOKEN_FLOOR``..1.

    Spelling counts edits (OSA: a swap of neighbours is one edit) against length,
    so one edit in a long word is close and one edit in a four-letter word is
    another word (``visa``/``vista``). Transliteration variants with a long enough
    skeleton (``muhammad``/``mohammed``) count as close.
    """
    if a == b:
        return 1.0
    for full, other in ((a, b), (b, a)):
        if full in ABBREVIATED and other not in ABBREVIATED:
            # "tceh" against "technology": the typo is in the abbreviation the list expanded.
            found = max(token_similarity(short, other) for short in ABBREVIATED[full])
            if found:
                return found
    longest, shortest = max(len(a), len(b)), min(len(a), len(b))
    spelled = 0.0
    if shortest == MIN_FUZZY_LEN - 1 and longest == MIN_FUZZY_LEN and OSA.distance(a, b, score_cutoff=1) == 1:
        spelled = SHORT_EDIT_SIM  # "ege"/"edge": weak alone, but other words must carry the name
    if shortest >= MIN_FUZZY_LEN:
        edits = OSA.distance(a, b, score_cutoff=2)
        if edits == 1 or (edits == 2 and shortest >= 7):
            spelled = 1.0 - edits * EDIT_COST / longest
            if edits == 1 and shortest >= 5 and sorted(a) == sorted(b):
                # Two neighbours swapped is a slip of the fingers, seldom another name ("Xatser").
                spelled = max(spelled, SWAP_SIM)

    if phonetic is None:
        phonetic = shortest >= 3 and skeleton(a) == skeleton(b)
    if phonetic and (len(skeleton(a)) >= 4 or (shortest >= 4 and OSA.distance(a, b, score_cutoff=2) <= 2)):
        spelled = max(spelled, SKELETON_SIM)
    elif phonetic and shortest == 3 and OSA.distance(a, b, score_cutoff=1) == 1:
        spelled = max(spelled, SHORT_EDIT_SIM)  # "uek"/"uec": one sound written two ways
    return spelled if spelled >= TOKEN_FLOOR else 0.0


def _expand(word: str) -> str:
    return ABBREVIATIONS.get(word, word)


def _is_legal_piece(word: str) -> bool:
    return word in LEGAL_WORDS or word in CONTEXT_LEGAL_WORDS


def _deletes(token: str) -> set[str]:
    return {token[:i] + token[i + 1:] for i in range(len(token))}


def merge_entries(entries: Iterable[ListEntry]) -> list[ListEntry]:
    """One entry per uid: an SDN party published in both the CSL and OFAC's files keeps every alias and country."""
    merged: dict[str, ListEntry] = {}
    for entry in entries:
        held = merged.get(entry.uid)
        if held is None:
            merged[entry.uid] = entry
            continue
        aliases = tuple(dict.fromkeys(n for n in (*held.aliases, *entry.names()) if n != held.name))
        merged[entry.uid] = ListEntry(
            held.uid, held.list, held.list_name, held.name, held.kind or entry.kind, aliases,
            tuple(dict.fromkeys((*held.countries, *entry.countries))),
            tuple(dict.fromkeys((*held.addresses, *entry.addresses))), held.programs or entry.programs,
            held.reference or entry.reference, tuple(dict.fromkeys((*held.dates_of_birth, *entry.dates_of_birth))),
            tuple(dict.fromkeys((*held.nationalities, *entry.nationalities))),
            tuple(dict.fromkeys((*held.ids, *entry.ids))),
        )
    return list(merged.values())
