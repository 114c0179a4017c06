"""Random texts through a sanitized build of the guard's C feature table, its sums and its run search (run by test_guard_native_sanitized.py).

    python native_fuzz.py SANITIZED_SO SEED SECONDS MAX_TEXTS

Loads the given build of ``_terms.c`` (compiled with AddressSanitizer and UndefinedBehaviorSanitizer), reads
random texts through it (the lexicon's words, apostrophes, line breaks, letters of every width, lone
surrogates, and random code points, up to 400 pieces), compares every result with the Python path, and
re-initialises and mis-initialises tables along the way. A memory error aborts the process (the sanitizer's
report on stderr); a difference is printed and the exit code is 1. Bounded by SECONDS and MAX_TEXTS.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.machinery
import importlib.util
import random
import sys
import time

from clearance.guardrails import lexicon, lookup, normalize
from clearance.guardrails.model import load_prompt_guard


def _load(path: str):  # noqa: ANN202 - the extension module
    loader = importlib.machinery.ExtensionFileLoader("clearance.guardrails._terms", path)
    spec = importlib.util.spec_from_file_location("clearance.guardrails._terms", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _text(rng: random.Random, pieces: list[str]) -> str:
    k = rng.choice((0, 1, 3, 10, 50, 400))
    if rng.random() < 0.5:
        return "".join(rng.choice(pieces) for _ in range(k))
    limit = rng.choice((0x80, 0x800, 0x10000, 0x110000))
    return "".join(chr(rng.randrange(limit)) for _ in range(k))


def main(path: str, seed: int, seconds: float, most: int) -> int:
    terms = _load(path)
    native = load_prompt_guard()._lookup
    python = copy.copy(native)
    python._table = None
    table = terms.Table(list(native.row), lookup.native_lexicon(native.row))
    guard = load_prompt_guard()
    table.weigh(guard._rows, guard._bias)
    pieces = sorted({*lexicon._EXACT, *lexicon.PEOPLE, *lexicon.STOPWORDS, *(s for s, _ in lexicon._STEMS),
                     *lexicon._PHRASES, " ", "'", "''", "\n", "-", "é", "ß", "İ", "\u0301", "🙂", "𝐀", "٢", "\x00",
                     "\ud800", "ﬁ", "ⅷ", "aGVsbG8gd29y", "QUJD+/", ".-", "/", "|", "... --- ...", "4", "7", "@", "_",
                     "\u200b", "а"})
    good = lookup.native_lexicon({"x:weapons": 1})
    words, stems, phrases, acts, rows, harm_person = good
    broken = [(words, [("k", 1)], phrases, acts, rows, harm_person), (words, stems, [("x", 2, 1)], acts, rows, harm_person),
              (words, stems, phrases, acts, rows * 5, harm_person), ("a",)]
    rng = random.Random(seed)
    deadline, n, differences = time.monotonic() + seconds, 0, 0
    while time.monotonic() < deadline and n < most:
        text = _text(rng, pieces)
        try:
            got = table.features(text)
        except ValueError:  # no UTF-8 form: the Python path reads it
            got = python.rows(text)
        if got != python.rows(text):
            differences += 1
            print(f"different rows for {text[:80]!r}", file=sys.stderr)
        with contextlib.suppress(ValueError):  # no UTF-8 form
            if table.terms(text) != table.rows(text)[0]:
                differences += 1
                print(f"terms() and rows() differ for {text[:80]!r}", file=sys.stderr)
            if table.scores(text)[:2] != got:
                differences += 1
                print(f"scores() found other rows for {text[:80]!r}", file=sys.stderr)
        runs = terms.encoded_runs(text, normalize.MIN_RUN, normalize.MIN_MORSE, normalize.MIN_MORSE // 2,
                                  normalize.MIN_DASHES, normalize.MAX_TRIES)
        if terms.leet_starts(text) != normalize._leet_starts(text) or terms.any_of(
                text, normalize._REPLACED) != bool(normalize._DISGUISED.search(text)):
            differences += 1
            print(f"other leetspeak triggers or replaced characters for {text[:80]!r}", file=sys.stderr)
        short = terms.encoded_runs(text, 2, 2, 1, 0, 3)  # short runs: every edge of the search is met often
        if not all(isinstance(r, str) for kind in (*runs, *short) for r in kind) or len(short[0]) > 3:
            differences += 1
            print(f"bad runs for {text[:80]!r}", file=sys.stderr)
        if n % 1000 == 0:  # tables made, remade and refused, so the error paths free what they took
            spare = terms.Table(["x:weapons", "bomb"], good)
            spare.__init__(["y"], good)
            for lexicon_ in broken:
                with contextlib.suppress(TypeError, ValueError):
                    terms.Table(["x:weapons"], lexicon_)
        n += 1
    print(f"{n} texts, {differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])))
