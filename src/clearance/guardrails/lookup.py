"""A text's features found in one artifact's vocabulary, with the per-word work done in C.

:func:`.features.extract` and :func:`.lexicon.families` say plainly what a text's features
are; this module finds the same features' weight rows for the prompt guard's hot path (issue
15's budget). Rows come in ascending order, terms then concepts, whatever the order in which a
set of strings iterates (which Python's hash seed changes from one process to the next), so the
weights are summed in one order and a prompt gets the same score to the last bit in every
process, as a replayed decision must.

A text's features are found by the compiled ``_terms`` table: its terms (words and word pairs),
each hashed from the text's UTF-8 bytes instead of made into a string, and its concepts, from the
lexicon's tables as :func:`native_lexicon` hands them over. A machine where ``_terms.c`` did not
compile, or a text with no UTF-8 form (a lone surrogate), takes the Python path, which gives the
same rows. Everything is derived from the lexicon and the vocabulary when a guard loads, never
copied from them; ``tests/guardrails/test_guard_fast_path.py`` pins this path to the plain one
and ``tests/guardrails/test_guard_native.py`` the C path to the Python one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from itertools import compress, islice, repeat

import numpy as np

from . import features, lexicon

try:
    from ._terms import Table
except ImportError:  # not compiled here (setup.py builds it optionally): the Python path stands in
    Table = None

CONCEPT = "x:"  # the prefix features.extract gives a family's feature
HARM_PERSON = "harm_person"  # the family lexicon.families adds for a harmful act done to a person
FAMILY_CACHE = 65536  # words remembered (as many as lexicon._word's cache holds), so memory stays bounded
# Words are cut without the Unicode regex where that gives the regex's words. The shortcuts are
# written for one word pattern (letters and digits, with one inner apostrophe) and stand aside for
# any other. On ASCII text every other character becomes a space and str.split cuts the words:
# the regex's cut, unless an apostrophe stands at a word's edge or twice in one word (found by four
# substring tests and a search led by the apostrophe), where the pattern with ASCII classes cuts
# (under re.ASCII, [^\W_] is exactly [0-9A-Za-z], which the regex engine tests faster than a
# Unicode category).
_ASCII_WORD = re.compile(features._WORD.pattern.replace(r"[^\W_]", "[0-9A-Za-z]"), re.ASCII)
_SPLIT_PATTERN = r"[^\W_]+(?:'[^\W_]+)?"
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SPACED = str.maketrans({chr(c): " " for c in range(128) if chr(c) not in _ALNUM + "'"})
_TWO_APOSTROPHES = re.compile(f"'[{_ALNUM}]+'")
_ASCII_BYTES = bytes(range(128))


def ascii_form(text: str) -> str | None:
    """The text as ASCII that has the same words, or None: when no character beyond ASCII is a
    letter or digit (most prompts' are quotes, dashes and emoji), those characters only separate
    words, as the "?" they are encoded to does. None too for a word pattern these shortcuts were
    not written for."""
    if features._WORD.pattern != _SPLIT_PATTERN:
        return None
    if text.isascii():
        return text
    others = text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")
    if any(map(str.isalnum, others)):
        return None
    return text.encode("ascii", "replace").decode("ascii")


def ascii_words(text: str) -> list[str]:
    """features.words of an ASCII text (for the word pattern _SPLIT_PATTERN)."""
    spaced = text.translate(_SPACED)
    if "'" in spaced and (spaced[0] == "'" or spaced[-1] == "'" or " '" in spaced or "' " in spaced
                          or "''" in spaced or _TWO_APOSTROPHES.search(spaced)):
        return _ASCII_WORD.findall(text)
    return spaced.split()


class _Families(dict[str, str]):
    """A word's family ("" for none), found once per word.

    The vocabulary's words are entered when the guard loads, keyed by the vocabulary's own
    strings: the lookup of a text's words in the vocabulary has just read those strings, so
    the lookup here finds them in the CPU cache. Other words are added as they come."""

    def __init__(self, words: Iterable[str]) -> None:
        self.family_of = family_finder(lexicon._EXACT, lexicon._STEMS)
        super().__init__((w, self.family_of(w) or "") for w in words)
        self._known = dict(self)

    def __missing__(self, word: str) -> str:
        if len(self) >= FAMILY_CACHE:
            self.clear()
            self.update(self._known)
        family = self[word] = self.family_of(word) or ""
        return family


def family_finder(exact: dict[str, str], stems: Sequence[tuple[str, str]]) -> Callable[[str], str | None]:
    """lexicon._word over these tables without its scan of every stem: the stems are grouped by
    length, so a new word costs one dictionary lookup per stem length; of several matching
    stems, the first in the lexicon's order wins, as in the scan."""
    by_length: dict[int, dict[str, tuple[int, str]]] = {}
    for rank, (stem, family) in enumerate(stems):
        by_length.setdefault(len(stem), {}).setdefault(stem, (rank, family))
    lengths = sorted(by_length.items())

    def family_of(word: str) -> str | None:
        found = exact.get(word)
        if found is not None:
            return found
        hits = [table[word[:n]] for n, table in lengths if n <= len(word) and word[:n] in table]
        return min(hits)[1] if hits else None

    return family_of


class VocabularyLookup:
    """Rows of one vocabulary for a normalized text's terms, then its concepts."""

    def __init__(self, vocabulary: Sequence[str]) -> None:
        # Row i + 1 is feature i: row 0 stands for "not in the vocabulary", so a C-level
        # filter(None, ...) drops misses without a Python step per term.
        self.row = dict(zip(vocabulary, range(1, len(vocabulary) + 1), strict=True))
        native = Table is not None and features._WORD.pattern == _SPLIT_PATTERN  # the word pattern _terms.c cuts
        self._table = Table(vocabulary, native_lexicon(self.row)) if native else None
        # The Python path's family cache gets the vocabulary's words up front only where it reads every text;
        # beside the compiled table it reads only a text with no UTF-8 form, and entering them cost start-up 15 ms.
        self._family = _Families(() if native else (f for f in self.row if " " not in f and not f.startswith(CONCEPT)))
        self._phrase_firsts = frozenset(lexicon._PHRASES)  # a phrase can match only where its first word occurs

    def rows(self, text: str) -> tuple[list[int], int]:
        """(rows of the text's terms then its concepts, each part ascending, how many are terms)."""
        if self._table is not None:
            try:
                return self._table.features(text)
            except ValueError:  # no UTF-8 form (a lone surrogate): the Python path reads it
                pass
        plain = ascii_form(text)
        tokens = features.words(text) if plain is None else ascii_words(plain)
        terms = set(tokens)
        terms.update(map(" ".join, zip(tokens, tokens[1:], strict=False)))
        found = sorted(filter(None, map(self.row.get, terms)))
        counted = len(found)
        concepts = map(str.__add__, repeat(CONCEPT), self.families(tokens))
        found += sorted(filter(None, map(self.row.get, concepts)))
        return found, counted

    def weigh(self, rows: np.ndarray, bias: Sequence[float]) -> None:
        """Hands a guard's weight rows (row 0 zeros, then one per feature) and biases to the compiled table,
        so that :meth:`logits` sums them in C. Without the table, :meth:`logits` gives None."""
        if self._table is not None:
            self._table.weigh(np.ascontiguousarray(rows, dtype=np.float64), list(bias))

    def logits(self, text: str) -> tuple[list[int], int, tuple[float, ...]] | None:
        """:meth:`rows` and each output's logit, summed in C as the guard sums them in numpy (the same bits);
        None where the compiled table or the text's UTF-8 form is missing. Needs :meth:`weigh` first."""
        if self._table is None:
            return None
        try:
            return self._table.scores(text)
        except ValueError:  # no UTF-8 form (a lone surrogate): the Python path reads it
            return None

    def families(self, tokens: list[str]) -> set[str]:
        """:func:`.lexicon.families` of ``tokens``."""
        distinct = list(set(tokens))
        kinds = list(map(self._family.__getitem__, distinct))
        found = set(filter(None, kinds))
        firsts = self._phrase_firsts.intersection(distinct)
        if firsts:  # phrases, checked in the text's order where one can start
            last = len(tokens) - 1
            for at in sorted(at for first in firsts for at in _places(tokens, first) if at < last):
                hit = lexicon._phrase(tokens[at], tokens[at + 1])
                if hit:
                    found.add(hit)
        if not lexicon.ACTS.isdisjoint(found) and HARM_PERSON not in found:
            acts = compress(distinct, map(lexicon.ACTS.__contains__, kinds))
            if any(_person_after(tokens, at) for act in acts if act not in lexicon.STOPWORDS
                   for at in _places(tokens, act)):
                found.add(HARM_PERSON)
        return found


def native_lexicon(row: dict[str, int]) -> tuple[list, list, list, list, list, int]:
    """The lexicon as the compiled table reads it (``_terms.c``, ``read_lexicon``), families numbered from 1 in
    the order of :data:`.lexicon.FAMILIES` with ``harm_person`` last, each concept's row in ``row`` (0: not in
    the vocabulary): every word the lexicon names (with its family, whether it is a person or a stopword,
    and the phrases it starts), the stems in the lexicon's order, the phrases' second words, the families
    of a harmful act."""
    names = [*lexicon.FAMILIES, HARM_PERSON]
    number = {name: i for i, name in enumerate(names, 1)}
    phrases: list[tuple[str, bool, int]] = []
    starts: dict[str, tuple[int, int]] = {}
    for first, entries in lexicon._PHRASES.items():
        starts[first] = (len(phrases), len(entries))
        phrases.extend((second.rstrip("*"), second.endswith("*"), number[family]) for second, family in entries)
    named = sorted({*lexicon._EXACT, *lexicon.PEOPLE, *lexicon.STOPWORDS, *starts})
    words = [(w, number.get(lexicon._EXACT.get(w, ""), 0), int(w in lexicon.PEOPLE), int(w in lexicon.STOPWORDS),
              *starts.get(w, (0, 0))) for w in named]
    stems = [(stem, number[family]) for stem, family in lexicon._STEMS]
    concept_rows = [0, *(row.get(CONCEPT + name, 0) for name in names)]
    return words, stems, phrases, sorted(number[f] for f in lexicon.ACTS), concept_rows, number[HARM_PERSON]


def _person_after(tokens: list[str], at: int) -> bool:
    """Whether a person is named after the act at ``at``, with only stopwords between.

    lexicon.families asks it the other way round (from each person back to the content word
    before it), which is the same question: a person word is also tested when it is itself a
    stopword ("her"), and the act is a content word. Acts are rarer words than pronouns, so
    starting from them is cheaper."""
    people, stopwords = lexicon.PEOPLE, lexicon.STOPWORDS
    for word in islice(tokens, at + 1, None):
        if word in people:
            return True
        if word not in stopwords:
            return False
    return False


def _places(tokens: list[str], word: str) -> list[int]:
    at, out = -1, []
    for _ in range(tokens.count(word)):
        at = tokens.index(word, at + 1)
        out.append(at)
    return out
