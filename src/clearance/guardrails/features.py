"""The features the prompt guard reads, shared by training and checking.

A prompt becomes a set of strings: words (``w:bomb``), word pairs (``b:make a``) and
character 4-grams inside words (``c:bom``, marking word edges with spaces), taken from
the normalized text. Words and pairs are what a reviewer reads as the reason for a verdict;
the character grams catch spelling variants and inflections the training data lacks.

Long prompts are read in windows: the head and the tail, where jailbreak templates put
their role-play framing and their payload, plus evenly spaced slices of the middle, so a
request buried in a long document is still sampled while the work per call stays bounded
(see ``bench/guardrails.py``).
"""

from __future__ import annotations

import hashlib
import re

HEAD = 1200
TAIL = 800
MIDDLE_SLICES = 3
SLICE = 200
CHAR_N = 4
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
VERSION = hashlib.sha256(repr((HEAD, TAIL, MIDDLE_SLICES, SLICE, CHAR_N, _WORD.pattern, 2)).encode()).hexdigest()[:12]


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


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def extract(text: str) -> set[str]:
    """The feature strings of an already normalized (lowercased) text."""
    tokens = words(window(text))
    found = {"w:" + t for t in tokens}
    found.update("b:" + a + " " + b for a, b in zip(tokens, tokens[1:], strict=False))
    for t in set(tokens):
        padded = " " + t + " "
        if len(padded) <= CHAR_N:
            continue
        found.update("c:" + padded[i:i + CHAR_N] for i in range(len(padded) - CHAR_N + 1))
    return found
