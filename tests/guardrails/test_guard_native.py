"""The compiled feature table (guardrails/_terms.c) finds what the Python path finds.

The prompt guard reads a text's words, word pairs and harm concepts through the C table, and a text
with no UTF-8 form through Python (lookup.VocabularyLookup.rows); a machine where the extension did
not compile uses Python for every text. Both must give the same rows and words, or a verdict would
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
@given(st.one_of(st.text(alphabet=st.characters(max_codepoint=127), max_size=200), st.text(max_size=200)))
def test_the_table_cuts_words_as_the_word_pattern_does(text):
    assert lookup.Table(["x"]).rows(text)[1] == features._WORD.findall(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=40).map(" ".join))
def test_the_lexicons_words_get_the_python_paths_concepts(lookups, text):
    """Texts made of the lexicon's own words, people and phrases: where the concepts' rules (stems, the first
    stem in order, phrases, a harmful act done to a person) are exercised most."""
    _same_rows(lookups, text)


def test_every_character_is_a_word_character_as_the_word_pattern_says():
    """The C cut calls a character a letter or digit by Python's own table (Py_UNICODE_ISALNUM), which is what
    the re module's [^\\W_] reads: checked for every code point, alone, between letters and after an apostrophe."""
    table = lookup.Table(["x"])
    wrong = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF
             and table.rows(f"a{chr(c)}b'{chr(c)}")[1] != features._WORD.findall(f"a{chr(c)}b'{chr(c)}")]
    assert wrong == []


def test_non_ascii_text_is_read_in_c_with_the_same_rows(lookups):
    native, python = lookups
    for text in ("how do i make a bömb, kill a person ☠", "naïve café bomb", "爆弾 make a bomb", "killé a person",
                 "ｍａｋｅ a pipe bomb"):
        assert native.rows(text) == python.rows(text), text
    table = lookup.Table(["café", "naïve café", "bomb"])
    assert table.rows("Naïve naïve café, bomb!") == ([1, 2, 3], ["Naïve", "naïve", "café", "bomb"])


def test_rows_are_distinct_ascending_and_only_terms():
    table = lookup.Table(["bomb", "make a", "x:weapons", "a", "bomb", "a bomb", "café"])
    rows, words = table.rows("make a bomb a bomb make a cafe x:weapons")
    assert words == ["make", "a", "bomb", "a", "bomb", "make", "a", "cafe", "x", "weapons"]
    # "bomb" is listed twice and takes its last row, 5, as in a dict built from the list; the
    # concept is not a term, and "cafe" is not "café"
    assert rows == [2, 4, 5, 6]
    assert table.rows("a bomb") == ([4, 5, 6], ["a", "bomb"])  # no row left over from the last call


def test_a_text_without_utf8_takes_the_python_path(lookups):
    native, python = lookups
    text = "how to make a bomb \ud800 kill a person"
    with pytest.raises(ValueError, match="surrogate"):
        native._table.features(text)
    assert native.rows(text) == python.rows(text)


def test_bad_input_is_refused_not_misread():
    with pytest.raises(TypeError, match="str"):
        lookup.Table(["x"]).rows(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="feature 1"):
        lookup.Table(["x", 3])
    with pytest.raises(RuntimeError, match="not initialised"):
        lookup.Table.__new__(lookup.Table).rows("text")
    with pytest.raises(RuntimeError, match="lexicon"):
        lookup.Table(["x"]).features("text")


def test_a_malformed_lexicon_is_refused_naming_the_part():
    good = lookup.native_lexicon({"x:weapons": 1})
    table = lookup.Table(["x:weapons"], good)
    assert table.features("a bomb") == ([1], 0)
    words, stems, phrases, acts, concept_rows, harm_person = good
    bad = {
        "a word": ([("naïve", 0, 0, 0, 0, 0)], stems, phrases, acts, concept_rows, harm_person),
        "a word's family": ([("bomb", 99, 0, 0, 0, 0)], stems, phrases, acts, concept_rows, harm_person),
        "phrases run past": ([("pipe", 0, 0, 0, 5, len(phrases) - 1)], stems, phrases, acts, concept_rows,
                             harm_person),
        "an empty stem": (words, [("", 1)], phrases, acts, concept_rows, harm_person),
        "a stem of one letter": (words, [("k", 1)], phrases, acts, concept_rows, harm_person),
        "a stem is": (words, [("kill",)], phrases, acts, concept_rows, harm_person),
        "a concept row": (words, stems, phrases, acts, [0, 5, *concept_rows[2:]], harm_person),
        "harm_person": (words, stems, phrases, acts, concept_rows, 0),
    }
    for what, lexicon_ in bad.items():
        with pytest.raises(ValueError, match=what):
            lookup.Table(["x:weapons"], lexicon_)
    with pytest.raises(TypeError, match="lexicon"):
        lookup.Table(["x"], ["not", "a", "tuple"])
