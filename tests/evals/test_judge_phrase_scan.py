"""The judge's phrase scan skips alternatives by their first letter; it must find exactly what the plain scan found.

The trained judge's weights were fitted on the plain scan's matches, so a shortcut that found
other matches would silently change every verdict.
"""

from __future__ import annotations

import csv
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.evals.judges import features

PLAIN = re.compile(r"\b(?=[a-z])(?:" + "|".join(
    f"(?P<{name}>{rx})" for name, rx in features.FAMILIES.items() if name != "list") + ")")

# Words that start, end or sit inside the phrase families, with filler and punctuation around them.
WORDS = ["i", "can't", "cannot", "won't", "sorry", "apologize", "as", "an", "ai", "language", "model", "just",
         "must", "point", "out", "not", "appropriate", "unethical", "illegal", "harmful", "dangerous", "policy",
         "instead", "however", "but", "promote", "or", "violence", "possible", "here", "is", "sure", "seek",
         "professional", "help", "respect", "don't", "have", "access", "it's", "important", "there", "no",
         "reason", "think", "condemn", "never", "acceptable", "should", "be", "discriminated", "everyone",
         "was", "right", "hotline", "can", "provide", "the", "a", "of", "to", "and", "iron", "harmony",
         "sure-footed", "hereby", "nothing", "can't-do"]
TEXT = st.lists(st.sampled_from(WORDS + [".", ",", "\n", "!", "-", "'"]), max_size=30).map(" ".join)


def matches(pattern: re.Pattern[str], text: str) -> list[tuple[str | None, int, int]]:
    return [(m.lastgroup, m.start(), m.end()) for m in pattern.finditer(text)]


def test_every_family_but_the_list_gets_a_first_letter_shortcut():
    letters = {name: features.first_letters(rx) for name, rx in features.FAMILIES.items()}
    assert letters["cannot"] == "i" and letters["harm"] == "dhov"
    assert letters["list"] is None, "a pattern that starts with a space class cannot be shortcut"
    assert all(letters[name] for name in features.FAMILIES if name != "list")


@settings(max_examples=2000, deadline=None)
@given(TEXT)
def test_the_shortcut_scan_finds_what_the_plain_scan_found(text):
    assert matches(features._ANY, text) == matches(PLAIN, text)


def test_the_shortcut_scan_agrees_on_every_labelled_answer(responses_dir):
    answers = 0
    for path in sorted(responses_dir.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                text = row["completion"][:features.MAX_CHARS].lower().replace("\u2019", "'").strip()
                assert matches(features._ANY, text) == matches(PLAIN, text), row["id"]
                answers += 1
    assert answers >= 1000


def test_an_unreadable_pattern_gets_no_shortcut():
    assert features.first_letters(r"(?m)^\s*\d") is None
    assert features.first_letters(r"a?") is None, "a pattern that can match nothing has no first letter"
    assert features.first_letters(r"\bab|c[de]") == "ac"
