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

A request can also hide *inside* a prompt: a jailbreak template or a page of ordinary text wrapped around
one harmful sentence, whose words the rest outweighs. Where the whole reads at all harmful, each of its
:func:`sentences` is read on its own too, for the request it may be (see ``model.SENTENCE_GATE``).
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


# A sentence ends at a stop followed by a space, or at a line break. One character class first, so the regex
# engine skips ahead to the next candidate (a lookbehind or an alternation first made splitting a 1,300-character
# window cost 60 microseconds).
_SENTENCE_END = re.compile(r"[.!?:;\n](?:(?<=\n)|(?=\s|$))\s*")
SENTENCE_WORDS = (4, 80)  # whitespace-separated words: fewer say too little alone; more are a paragraph, read whole
MAX_SENTENCES = 32
# A shorter text is a request read whole (and restated, restate.MAX_CHARS); its sentences read alone flagged
# ordinary two-line questions ("My sink is leaking. What should I check?") and cost the budget more.
SENTENCE_MIN_CHARS = 400


def sentences(text: str) -> list[str]:
    """The sentences and lines of a normalized text that are read on their own for a hidden request (without
    the stop that ends them): those of ``SENTENCE_WORDS`` words, at most ``MAX_SENTENCES``, in a text of at
    least ``SENTENCE_MIN_CHARS``, and none unless there are two."""
    if len(text) < SENTENCE_MIN_CHARS:
        return []
    low, high = SENTENCE_WORDS
    found = []
    for part in _SENTENCE_END.split(text):
        if low <= len(part.split()) <= high:
            found.append(part)
            if len(found) == MAX_SENTENCES:
                break
    return found if len(found) >= 2 else []


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
