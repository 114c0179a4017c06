"""The compiled term table (guardrails/_terms.c) finds what the Python path finds.

The prompt guard reads an ASCII text's words and word pairs through the C table and any other
text through Python (lookup.VocabularyLookup.rows); a machine where the extension did not
compile uses Python for every text. Both must give the same rows and words, or a verdict would
depend on where the gateway runs.
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.guardrails import corpus, features, lexicon, lookup
from clearance.guardrails.model import load_prompt_guard
from needs import missing

if lookup.Table is None:
    missing("native", "the guard's C term table is not compiled (pip install -e . builds src/clearance/guardrails/"
                      "_terms.c; it needs gcc and the Python headers)", module_level=True)


@pytest.fixture(scope="module")
def lookups():
    native = load_prompt_guard()._lookup
    python = copy.copy(native)
    python._table = None
    return native, python


def _same_rows(lookups, text: str) -> None:
    native, python = lookups
    assert native.rows(text) == python.rows(text), text[:200]


_WORDS = sorted({*lexicon._EXACT, *(f"{a} {b.rstrip('*')}" for a, e in lexicon._PHRASES.items() for b, _ in e),
                 *lexicon.PEOPLE, "how to", "make a", "kill", "process", "don't", "rock'n'roll", "'tis", "x'y'z",
                 "snake_case", "naïve", "café", "\u2019", "\u2014", "🙂"})
_TEXT = st.lists(st.one_of(st.sampled_from(_WORDS), st.text(max_size=10),
                           st.text(alphabet=st.characters(max_codepoint=127), max_size=10),
                           st.sampled_from([" ", "'", "''", " '", "' ", "-", "\n", "\x00"])), max_size=120).map("".join)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_any_text_gets_the_python_paths_rows(lookups, text):
    _same_rows(lookups, text)
    _same_rows(lookups, text.lower())


def test_every_real_prompt_gets_the_python_paths_rows(guard_data, lookups):
    for example in corpus.load(guard_data):
        _same_rows(lookups, features.read(example.text).text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_the_table_cuts_ascii_words_as_the_word_pattern_does(text):
    assert lookup.Table(["x"]).rows(text)[1] == features._WORD.findall(text)


def test_rows_are_distinct_ascending_and_only_terms():
    table = lookup.Table(["bomb", "make a", "x:weapons", "a", "bomb", "a bomb", "café"])
    rows, words = table.rows("make a bomb a bomb make a cafe x:weapons")
    assert words == ["make", "a", "bomb", "a", "bomb", "make", "a", "cafe", "x", "weapons"]
    # "bomb" is listed twice and takes its last row, 5, as in a dict built from the list; the
    # concept and the non-ASCII word are not terms of an ASCII text
    assert rows == [2, 4, 5, 6]
    assert table.rows("a bomb") == ([4, 5, 6], ["a", "bomb"])  # no row left over from the last call


def test_bad_input_is_refused_not_misread():
    with pytest.raises(ValueError, match="ASCII"):
        lookup.Table(["x"]).rows("naïve")
    with pytest.raises(ValueError, match="ASCII"):
        lookup.Table(["x"]).rows(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="feature 1"):
        lookup.Table(["x", 3])
    with pytest.raises(RuntimeError, match="not initialised"):
        lookup.Table.__new__(lookup.Table).rows("text")
