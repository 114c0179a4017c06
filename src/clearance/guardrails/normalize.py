"""Undo the cheap disguises before any guard reads a prompt.

An attacker who spells "b0mb", writes Cyrillic "е" for Latin "e", hides zero-width joiners
inside a word or wraps the request in base64 should meet the same classifier as one who
asks plainly. Each step here is a C-speed string operation (NFKC, ``str.translate``, one
regex scan) except leetspeak folding and base64 decoding, which run only when their cheap
trigger matches, so normalizing stays far below the guard's latency budget.

``normalize`` returns the folded text and the names of the disguises it removed: they are
readable features a reviewer sees beside the verdict. ``payloads`` returns the decoded
text of plausible encoded runs (base64, hex, Morse code: the encodings jailbreak collections
wrap requests in), which the guards classify as well.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np

try:
    from ._terms import any_of, encoded_runs, leet_starts
except ImportError:  # not compiled here: the regexes and byte maps below stand in, with the same results
    any_of = encoded_runs = leet_starts = None

# Characters that render as nothing: zero-width space/joiners, word joiner, BOM, soft
# hyphen, Mongolian vowel separator, invisible operators, bidi controls.
INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u202a\u202b\u202c\u202d\u202e"

# Cyrillic and Greek letters that look like Latin ones (after NFKC, which does not fold
# scripts). The pairs follow the Unicode confusables list for these two scripts, lowercase
# and uppercase, restricted to letters whose glyph is the Latin letter's in common fonts.
CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ү": "y", "ɡ": "g",
    "А": "A", "В": "B", "Е": "E", "Ё": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ї": "I", "Ј": "J", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W",
    "Һ": "H", "Ү": "Y",
    # Greek
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "γ": "y", "η": "n", "μ": "u",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}
_LOWER = {k: v for k, v in CONFUSABLES.items() if k.islower()}
_TABLE = str.maketrans({**dict.fromkeys(INVISIBLE, None), **_LOWER})
_INVISIBLE = re.compile("[" + INVISIBLE + "]")
_LOOKALIKE = re.compile("[" + "".join(_LOWER) + "]")
_REPLACED = "".join(map(chr, _TABLE))  # every character _TABLE changes
_DISGUISED = re.compile("[" + re.escape(_REPLACED) + "]")

# Leetspeak: a digit or symbol standing for a letter inside a word. Folded only in words
# where a stand-in precedes a letter, or ends a word of one or two letters ("d0", "t0"), so
# numbers ("2024", "3.5") and names ending in a digit ("python3", "gpt4") stay as they are.
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s",
        "!": "i", "|": "l", "+": "t"}
_LEET_TABLE = str.maketrans(LEET)
# The first form is tried only where a run of such characters starts: a match inside a run
# would also match from the run's start, so the leftmost match is unchanged, and trying every
# position of a long word made the scan quadratic in the word's length.
_LEET_WORD = re.compile(r"(?<![a-z0-9@$!|+])[a-z0-9@$!|+]*[0134578@$|+9][a-z][a-z0-9@$!|+]*|\b[a-z]{1,2}[0134578]\b")
# The trigger, as two scans that each begin with a character class, which the regex engine
# searches for directly (a third of the time of one scan that tests a word boundary everywhere):
# a stand-in before a letter, or a digit ending a word of one or two letters.
_LEET_PAIR = re.compile(r"[0134578@$|+9][a-z]")
_LEET_SHORT = re.compile(r"[0134578](?:(?<=\b[a-z][0134578])|(?<=\b[a-z]{2}[0134578]))\b")
# A prompt written in leetspeak has most of its words folded; a prompt holding ids, variables or versions
# ("t1", "$this", "h1") has few. Only the first is read again with every stand-in folded (``unleeted``):
# every development request so written had a share above this, and 2 of the speed benchmark's 1,000
# 4,000-token prompts did, while a quarter of them showed some leetspeak.
LEET_THROUGHOUT = 0.1
# Numbers with a unit or ordinal ("1st", "3d", "4k", "10am") are not disguised words.
_NUMBER_WORD = re.compile(r"[0-9]+(?:st|nd|rd|th|d|k|g|x|s|m|am|pm|km|kg|gb|mb|tb|mm|cm|ml|hz|mhz|ghz|v|w|kw|p|px|b|bn)")

# A base64 run long enough to carry a request (24 chars = 18 bytes); shorter runs are
# ordinary words and ids. At most a few runs are decoded per prompt.
MIN_RUN = 24
_BASE64_BYTES = bytes(0x61 if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "+/") else 0x20 for b in range(256))
_RUN = b"a" * MIN_RUN
MAX_PAYLOADS = 4
MAX_TRIES = 16  # bounds the work on a prompt made of many long runs that decode to nothing
LONG_MAP = 2048  # bytes from which runs are found through 8-byte blocks (_runs)
_BLOCK = np.frombuffer(b"a" * 8, np.uint64)[0]  # eight base64 characters in a row, mapped


# Morse code: dots and dashes, letters split by a space, words by " / ", "|" or two spaces.
MORSE = {
    ".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g", "....": "h", "..": "i",
    ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n", "---": "o", ".--.": "p", "--.-": "q", ".-.": "r",
    "...": "s", "-": "t", "..-": "u", "...-": "v", ".--": "w", "-..-": "x", "-.--": "y", "--..": "z",
    "-----": "0", ".----": "1", "..---": "2", "...--": "3", "....-": "4", ".....": "5", "-....": "6", "--...": "7",
    "---..": "8", "----.": "9", ".-.-.-": ".", "--..--": ",", "..--..": "?", ".----.": "'", "-.-.--": "!",
    "-..-.": "/", "-.--.": "(", "-.--.-": ")", "---...": ":", "-.-.-.": ";", "-...-": "=", ".-.-.": "+",
    "-....-": "-", ".-..-.": '"', ".--.-.": "@",
}
_MORSE_BYTES = bytes(0x6D if chr(b) in ".-/| " else 0x20 for b in range(256))
MIN_MORSE = 24  # characters of dots, dashes and spaces: about five letters
_MORSE_RUN = b"m" * MIN_MORSE
MIN_DASHES = 4
_MORSE_WORDS = re.compile(r"\s*[/|]\s*|\s{2,}")
_HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True, slots=True)
class Normalized:
    text: str
    disguises: tuple[str, ...]
    leet_share: float = 0.0  # the leetspeak fold's candidate words (folded, or numbers it kept) per word


@dataclass(frozen=True, slots=True)
class Payload:
    """Text found encoded inside a prompt, and the encoding it was found in."""

    encoding: str  # base64 | hex | morse
    text: str


def normalize(text: str) -> Normalized:
    """NFKC, lowercased, lookalikes and invisibles removed, leetspeak folded; and what was undone."""
    found: list[str] = []
    share = 0.0
    if text.isascii():
        lowered = text.lower()
    else:
        folded = unicodedata.normalize("NFKC", text)
        if folded != unicodedata.normalize("NFC", text):
            found.append("obfuscation: compatibility characters")
        lowered = folded.lower()
        # str.translate looks every character up in a dict, the dearest step here on a long
        # prompt: it runs only where one of the characters it replaces is present (one scan for
        # both kinds; most non-ASCII prompts hold only curly quotes and dashes).
        if any_of(lowered, _REPLACED) if any_of is not None else _DISGUISED.search(lowered):
            if _INVISIBLE.search(lowered):
                found.append("obfuscation: invisible characters")
            if _LOOKALIKE.search(lowered):
                found.append("obfuscation: lookalike letters")
            lowered = lowered.translate(_TABLE)
    starts = leet_starts(lowered) if leet_starts is not None else _leet_starts(lowered)
    if starts:
        changed, candidates = _leet_folded(lowered, starts)
        if changed != lowered:
            found.append("obfuscation: leetspeak")
            share = candidates / words_in(lowered)
            lowered = changed
    return Normalized(lowered, tuple(found), share)


def _leet_starts(lowered: str) -> list[int]:
    """Where the leetspeak triggers (``_LEET_PAIR``, ``_LEET_SHORT``) match, ascending (``leet_starts`` in C)."""
    return sorted({*(m.start() for m in _LEET_PAIR.finditer(lowered)), *(m.start() for m in _LEET_SHORT.finditer(lowered))})


def _leet_folded(lowered: str, starts: list[int] | None = None) -> tuple[str, int]:
    """``_LEET_WORD.subn(_fold_leet, lowered)``, with the word regex run only over the stretches between spaces
    and line breaks that hold a trigger (at ``starts``, found if not given).

    Every match of ``_LEET_WORD`` holds a trigger, and none holds a space or a line break, which are neither in
    its classes nor word characters: so a stretch read alone gives the matches it gives in the whole text, and
    the stretches without a trigger hold none. The word regex, a lookbehind tried at every position, cost a
    long prompt that holds one id such as "t1" a quarter of its call; the triggers are found by scans that
    begin with a character class, which the regex engine searches for directly (or by one pass in C).
    """
    if starts is None:
        starts = _leet_starts(lowered)
    pieces: list[str] = []
    candidates = done = 0
    for at in starts:
        if at < done:
            continue  # in the stretch just read
        start = max(lowered.rfind(" ", 0, at), lowered.rfind("\n", 0, at)) + 1
        end = min((i for i in (lowered.find(" ", at), lowered.find("\n", at)) if i != -1), default=len(lowered))
        folded, n = _LEET_WORD.subn(_fold_leet, lowered[start:end])
        pieces += (lowered[done:start], folded)
        candidates += n
        done = end
    pieces.append(lowered[done:])
    return "".join(pieces), candidates


def words_in(text: str) -> int:
    """Spaces and line breaks, plus one: a count of words by two C-speed scans (splitting a long window
    into words, to count them exactly, cost a long prompt with an id in it 3 % of a call)."""
    return text.count(" ") + text.count("\n") + 1


def _fold_leet(match: re.Match[str]) -> str:
    word = match.group(0)
    # A word of letters with a trailing "!" or "+" is punctuation, not a disguise ("c++", "hello!").
    core = word.rstrip("!+")
    if _NUMBER_WORD.fullmatch(core) or not any(c in LEET for c in core):
        return word
    return core.translate(_LEET_TABLE) + word[len(core):]


# A prompt written in leetspeak throughout also spells its short words in stand-ins alone ("70" for "to",
# "15" for "is", "4" for "a") and ends words in them ("wr173", "wh47", "4nd"), which ``normalize`` leaves as
# they are so that numbers, ordinals and names ending in a digit stay intact. Where ``normalize`` folded at
# least ``LEET_THROUGHOUT`` of a prompt's words, ``unleeted`` reads it a second time with every such word
# folded; the guards keep the worse verdict of the two readings, so a number misread as a word can add a flag,
# never remove one.
_LEET_ANY = re.compile(r"[a-z0-9@$!|+]*[0134578@$!|+9][a-z0-9@$!|+]*")
MAX_STANDINS = 6  # a longer run of stand-ins alone is a number, not a word
_OTHER_DIGIT = re.compile("[26]")  # no letter's stand-in: "2024" is a year in any spelling
_MONEY = re.compile(r"\$[0-9]+")  # "$8" is a price, "$7" no word


def unleeted(folded: str) -> str | None:
    """``folded`` (a ``normalize`` text in which leetspeak was found) with every word that holds a stand-in
    folded too, or None where that changes nothing."""
    changed = _LEET_ANY.sub(_fold_any, folded)
    return None if changed == folded else changed


def _fold_any(match: re.Match[str]) -> str:
    word = match.group(0)
    core = word.rstrip("!+")
    if not any("a" <= c <= "z" for c in core) and (
            len(core) > MAX_STANDINS or _OTHER_DIGIT.search(core) or _MONEY.fullmatch(core)):
        return word
    return core.translate(_LEET_TABLE) + word[len(core):]


def payloads(text: str) -> list[Payload]:
    """The decoded text of encoded runs (base64, hex, Morse) that decode to mostly printable text."""
    if encoded_runs is None:
        return _payloads(text)
    # The compiled search reads the str's own storage, so it reads any str, a lone surrogate included.
    return _decoded(*encoded_runs(text, MIN_RUN, MIN_MORSE, MIN_MORSE // 2, MIN_DASHES, MAX_TRIES))


def _decoded(base: Iterable[str], morse: Iterable[str]) -> list[Payload]:
    """The payloads of candidate runs, in order, the base64 runs first; at most MAX_PAYLOADS, and at most
    MAX_TRIES runs of each kind tried (the searches hand over no more)."""
    out: list[Payload] = []
    for run in base:
        if len(out) >= MAX_PAYLOADS:
            return out
        decoded = _decode(run)
        if decoded is not None:
            out.append(decoded)
    for run in morse:
        if len(out) >= MAX_PAYLOADS:
            return out
        decoded = _morse(run)
        if decoded is not None:
            out.append(Payload("morse", decoded))
    return out


def _payloads(text: str) -> list[Payload]:
    """``payloads`` where the compiled search is not built: the same runs, found on byte maps."""
    # Map every byte to "is a base64 character" and search the map for runs: C-speed passes,
    # far cheaper than a regex scan over a long prompt, which usually holds no run at all.
    raw = text.encode("utf-8", "replace")
    base = [raw[at:end].decode("ascii") for at, end in islice(_runs(raw.translate(_BASE64_BYTES)), MAX_TRIES)]
    # Morse text has dashes (only e, i, s, h and 5 have none): most prompts have too few to hold
    # a message, and counting one byte is far cheaper than mapping them all.
    mapped = raw.translate(_MORSE_BYTES) if raw.count(b"-") >= MIN_DASHES else b""
    morse = (raw[at:end] for at, end in _found(mapped, _MORSE_RUN))
    # not indentation or a row of slashes
    marked = (run.decode("ascii") for run in morse if run.count(b".") + run.count(b"-") >= MIN_MORSE // 2)
    return _decoded(base, islice(marked, MAX_TRIES))


def _found(mapped: bytes, marker: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each run that begins with ``marker`` in a mapped prompt, up to the next
    unmapped byte (a space), in order."""
    at = mapped.find(marker)
    while at != -1:
        end = mapped.find(b" ", at)
        end = len(mapped) if end == -1 else end
        yield at, end
        at = mapped.find(marker, end)


def _runs(mapped: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of at least MIN_RUN base64 characters in a mapped prompt, in order."""
    if len(mapped) < LONG_MAP or MIN_RUN < 23:  # any run of 23 or more holds two whole aligned blocks
        yield from _found(mapped, _RUN)
        return
    # On a long prompt, searching for MIN_RUN equal bytes steps through nearly every byte. A run
    # of 24 holds two whole 8-byte blocks in a row, found for the whole map by a few numpy
    # passes; only the runs around such blocks are measured.
    full = np.frombuffer(mapped, np.uint64, len(mapped) // 8) == _BLOCK
    end = 0
    for block in (full[1:] & full[:-1]).nonzero()[0].tolist():
        inside = 8 * block
        if inside < end:
            continue  # the run measured last
        start = mapped.rfind(b" ", 0, inside) + 1
        end = mapped.find(b" ", inside)
        end = len(mapped) if end == -1 else end
        if end - start >= MIN_RUN:
            yield start, end


def _decode(run: str) -> Payload | None:
    if run.isalpha() and (run.islower() or run.isupper()):
        return None  # a long plain word or identifier, not an encoding
    if len(run) % 2 == 0 and _HEX.issuperset(run):
        # Hex digits are base64 characters too: a run of them is read as hex, whose text
        # (if any) is what the writer meant; a hash or an id decodes to bytes that are not text.
        try:
            return _texty("hex", bytes.fromhex(run).decode("utf-8"))
        except ValueError:
            return None
    try:
        decoded = base64.b64decode(run + "=" * (-len(run) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return _texty("base64", decoded)


def _texty(encoding: str, decoded: str) -> Payload | None:
    printable = sum(1 for c in decoded if c.isprintable() or c in "\n\t")
    if decoded.strip() and printable >= 0.95 * len(decoded) and sum(c.isalpha() for c in decoded) >= len(decoded) / 2:
        return Payload(encoding, decoded)
    return None


def _morse(run: str) -> str | None:
    """The text of a run of Morse code, or None when too few of its groups are Morse letters."""
    words = [w.split() for w in _MORSE_WORDS.split(run.strip())]
    letters = [g for w in words for g in w]
    known = sum(g in MORSE for g in letters)
    if len(letters) < 5 or known < 0.9 * len(letters):
        return None
    decoded = " ".join("".join(MORSE.get(g, "") for g in w) for w in words if w)
    # A rule of dashes ("|---|---|", "- - -") reads as one repeated letter: text has several.
    if len(set(decoded) - {" "}) < 4 or sum(c.isalpha() for c in decoded) < len(decoded) / 2:
        return None
    return decoded
