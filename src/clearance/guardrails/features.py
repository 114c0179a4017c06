"""The features the prompt guard reads, shared by training and checking.

A prompt becomes two sets of strings, taken from its normalized text: *terms*, words
(``bomb``) and word pairs (``make a``), which weigh in scaled to unit length, and
*concepts*, the harm-concept families of :mod:`.lexicon` (``x:weapons``; no word holds a
colon), which weigh in whole, so a harm concept counts as much in a long prompt as in a short one. Words, pairs
and concepts are also what a reviewer reads as the reasons for a verdict. (In-word
character 4-grams were tried and dropped: no better out of fold, four times the cost.)

Long prompts are read in windows: the head and the tail, where jailbreak templates put
their role-play framing and their payload, plus evenly spaced slices of the middle, so a
request buried in a long document is still sampled while the work per call stays bounded
(see ``bench/guardrails.py``). Windows are cut from the raw text, before normalizing, so
normalizing costs the same for any length. A request buried in padding between the slices
is not read by that window; a guard set to scan in full (``CLEARANCE_GUARD_SCAN=full``)
also reads every :func:`spans` slice, at a cost linear in the prompt's length.
"""

from __future__ import annotations

import hashlib
import re

from . import lexicon
from .normalize import Normalized, normalize

HEAD = 700
TAIL = 400
MIDDLE_SLICES = 2
SLICE = 100
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
VERSION = hashlib.sha256(repr((HEAD, TAIL, MIDDLE_SLICES, SLICE, _WORD.pattern, sorted(lexicon.FAMILIES.items()),
                               sorted(lexicon.PEOPLE), sorted(lexicon.ACTS), sorted(lexicon.STOPWORDS), 6)).encode()
                         ).hexdigest()[:12]


def window(text: str) -> str:
    """The part of a long text the guard reads: head, tail and slices of the middle."""
    if len(text) <= HEAD + TAIL + MIDDLE_SLICES * SLICE:
        return text
    middle = len(text) - HEAD - TAIL
    step = middle // (MIDDLE_SLICES + 1)
    parts = [text[:HEAD]]
    for i in range(1, MIDDLE_SLICES + 1):
        start = HEAD + i * step - SLICE // 2
        parts.append(text[start:start + SLICE])
    parts.append(text[-TAIL:])
    return " \n ".join(parts)


def spans(text: str) -> list[tuple[int, str]]:
    """Overlapping slices that cover the whole of a long text, each no longer than what
    :func:`window` reads whole, with where each starts: what a full scan reads besides the window."""
    size = HEAD + TAIL + MIDDLE_SLICES * SLICE
    if len(text) <= size:
        return []
    step = size - 200  # overlap, so a request cut by one slice's edge is whole in the next
    return [(start, text[start:start + size]) for start in range(0, len(text) - 200, step)]


def read(text: str) -> Normalized:
    """The normalized window of a raw prompt: what every feature is taken from."""
    return normalize(window(text))


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def extract(text: str) -> tuple[set[str], set[str]]:
    """(terms, concepts) of an already normalized text."""
    tokens = _WORD.findall(text)
    terms = set(tokens)
    terms.update(map(" ".join, zip(tokens, tokens[1:], strict=False)))
    return terms, {"x:" + f for f in lexicon.families(tokens)}
