"""The spellings and ciphers red-teaming tools wrap a request in, undone so the guard reads the request.

PyRIT's converters and garak's encoding probes ship each of these as a one-line attack: a shifted alphabet
(ROT13, Caesar), Atbash, the text written backwards, letters spaced or joined by dashes or dots
("b-o-m-b"), combining marks stacked on every letter (Zalgo), URL (percent) encoding, 8-bit binary, and
"ASCII smuggling": the request written in Unicode tag characters, which render as nothing but which a
model reads. Before round 5 each of them took the lexical guard's detection of held-out harmful requests
from 0.76 to at most 0.01. A model that cannot read the cipher is not helped by it; one that can is, so the
guard reads what the cipher hides.

Each finding is a :class:`~.normalize.Payload` (what it was written in, and the decoded text), read by the
guard beside the prompt; the worst verdict wins, as for base64. Each is found by a cheap test that the
disguise leaves: a shifted alphabet or a reversed text turns the commonest English words into strings
that are not words ("gur", "ubj", "eht"), so the words of the prompt are counted against those strings,
for the 25 shifts, Atbash and the reversal at once, and a decoding is proposed only where it turns more
of the prompt's words into common words than the prompt already holds.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from collections import Counter

from .normalize import Payload

try:
    from ._terms import Table
except ImportError:  # not compiled here: sets of the words stand in, with the same counts
    Table = None

# The commonest words of English requests, two letters or more (a single letter decodes to "a" or "i"
# under some shift whatever it was).
COMMON = ("the", "and", "to", "of", "how", "is", "in", "for", "you", "what", "with", "on", "that", "this",
          "it", "can", "do", "my", "me", "your", "be", "are", "an", "or", "as", "at", "by", "from", "make",
          "write", "give", "step", "tell", "about", "explain", "steps", "instructions", "create", "get",
          "someone", "without", "people", "would", "should", "will", "have", "has", "was", "not", "all", "into",
          "develop", "provide", "generate", "suggest", "design", "outline", "describe", "list", "plan", "detailed",
          "guide", "tutorial", "post", "article", "story", "program", "script", "use", "using", "used", "which",
          "who", "their", "them", "they", "we", "our", "if", "but", "so", "than", "then", "there", "some", "any",
          "more", "most", "other", "also", "just", "like", "only", "out", "up", "one", "new", "way", "ways", "best",
          "need", "want", "help", "know", "find", "please", "message", "methods", "social", "media")
# A decoding must turn at least this many of the prompt's distinct words, and this share of them, into common
# words, more than the prompt holds as it stands.
MIN_HITS = 2
MIN_SHARE = 0.2
_WORDS = re.compile(r"[a-z]+")  # what a substitution cipher changes
# Every test below runs on every prompt the guard reads, so each starts with a C-speed pass over bytes
# (translate, split, set intersection, count) and only a prompt that passes it meets a regex.
_LETTERS_ONLY = bytes(b if 97 <= b <= 122 else 32 for b in range(256))
# The words counted for a cipher's signature (and for spaced-out letters) are the first this many bytes':
# a ciphered request shows in its first words, and building the set of a whole window's words would cost a
# long prompt a fifth of the guard's budget.
SCAN_BYTES = 1024


def _shift(word: str, k: int) -> str:
    return "".join(chr((ord(c) - 97 + k) % 26 + 97) for c in word)


def _atbash(word: str) -> str:
    return "".join(chr(219 - ord(c)) for c in word)


# a word as a cipher writes it -> the ciphers that write a common word so ("shift 3" wrote "wkh" for "the")
_SIGNATURES: dict[bytes, list[str]] = {}
for _word in COMMON:
    for _k in range(1, 26):
        _SIGNATURES.setdefault(_shift(_word, _k).encode(), []).append(f"shift {_k}")
    _SIGNATURES.setdefault(_atbash(_word).encode(), []).append("atbash")
    _SIGNATURES.setdefault(_word[::-1].encode(), []).append("reversed")
_SIGNED = frozenset(_SIGNATURES)
_COMMON = frozenset(w.encode() for w in COMMON)
# The signatures and common words as one vocabulary of the compiled term table, which finds which of them a
# prompt's first words hold without a bytes object and a set entry per word (a set of a long prompt's first
# 1,024 bytes' words was a tenth of the guard's call); row i + 1 is word i.
_KNOWN = sorted(_SIGNED | _COMMON)
_KNOWN_TABLE = Table([w.decode() for w in _KNOWN]) if Table is not None else None
_KNOWN_SIGNED = [False, *(w in _SIGNED for w in _KNOWN)]
_KNOWN_COMMON = [False, *(w in _COMMON for w in _KNOWN)]
# Every letter as "a", everything else as a space: four letters standing alone in a row read " a a a a ",
# found by one substring search before the spaced-letters regex runs.
_ONE_LETTER = bytes(97 if 97 <= b <= 122 else 32 for b in range(256))

_TAGS = re.compile("[\U000e0020-\U000e007e]+")
_TAG_BYTES = ("\U000e0020".encode()[:3], "\U000e0040".encode()[:3])  # the UTF-8 lead of U+E0020-E003F, E0040-E007F
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")
MIN_PERCENT = 3
_BINARY = re.compile(r"(?:[01]{8}[ ,]?){4,}")
MIN_BITS = 8  # "01"s in the prompt: each byte of a letter, written in binary, starts with one
_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
MIN_MARKS = 4  # left after NFKC, which composes the accents of ordinary text into single letters
# Letters, each alone, joined by one same separator: "b o m b", "b-o-m-b", "b.o.m.b", "b*o*m*b". The first
# run of four sets the separator; then every run of two or more letters so joined is a word.
_SPACED = re.compile(r"(?<![a-z0-9])[a-z](?P<sep>[ .\-*_·|/])[a-z](?:(?P=sep)[a-z]){2,}(?![a-z0-9])")


def deciphered(text: str) -> list[Payload]:
    """What ``text`` (a prompt, or the window of one the guard reads) says under each disguise it shows."""
    out: list[Payload] = []
    lowered = text.lower()
    head = lowered.encode("ascii", "ignore")[:SCAN_BYTES]
    out.extend(_substitutions(text, head.translate(_LETTERS_ONLY)))
    if not text.isascii():
        raw = text.encode("utf-8", "replace")
        if _TAG_BYTES[0] in raw or _TAG_BYTES[1] in raw:
            tags = _TAGS.findall(text)
            out.append(Payload("unicode tags", " ".join("".join(chr(ord(c) - 0xE0000) for c in run) for run in tags)))
        # U+0300-U+036F, where Zalgo text draws its marks from, is UTF-8 0xCC 0x80 to 0xCD 0xAF.
        if raw.count(b"\xcc") + raw.count(b"\xcd") >= MIN_MARKS and len(
                _MARKS.findall(unicodedata.normalize("NFKC", text))) >= MIN_MARKS:
            # Category, not combining class: the grapheme joiner U+034F is a mark of class 0.
            bare = "".join(c for c in unicodedata.normalize("NFKD", text) if unicodedata.category(c) != "Mn")
            out.append(Payload("combining marks", unicodedata.normalize("NFKC", bare)))
    if text.count("%") >= MIN_PERCENT and len(_PERCENT.findall(text)) >= MIN_PERCENT:
        decoded = urllib.parse.unquote_plus(text)
        if decoded != text:
            out.append(Payload("url encoding", decoded))
    if text.count("01") >= MIN_BITS:
        for run in _BINARY.findall(text):
            decoded = _binary(run)
            if decoded is not None:
                out.append(Payload("binary", decoded))
    if b" a a a a " in b" " + head.translate(_ONE_LETTER) + b" ":
        spaced = _SPACED.search(lowered)
        if spaced:
            out.append(Payload("spaced letters", _unspaced(lowered, spaced["sep"])))
    return out


def _known_words(letters: bytes) -> tuple[set[bytes], int]:
    """(the cipher signatures among the distinct words of ``letters``, how many of them are common words)."""
    if _KNOWN_TABLE is None:
        distinct = set(letters.split())
        return distinct & _SIGNED, len(distinct & _COMMON)
    rows = _KNOWN_TABLE.terms(letters.decode("ascii"))
    return {_KNOWN[r - 1] for r in rows if _KNOWN_SIGNED[r]}, sum(map(_KNOWN_COMMON.__getitem__, rows))


def _substitutions(text: str, letters: bytes) -> list[Payload]:
    """Shifted alphabets, Atbash and reversal: the decoding that turns the most words into common ones.
    ``letters`` is the head of the lowered prompt, every byte but a-z a space."""
    signed, plain = _known_words(letters)
    if len(signed) < MIN_HITS or len(signed) <= plain:  # no cipher can turn more words into common ones
        return []
    distinct = set(letters.split())  # only for a prompt that may hold a cipher
    hits: Counter[str] = Counter()
    for w in signed:
        hits.update(_SIGNATURES[w])
    cipher, n = max(sorted(hits.items()), key=lambda kv: kv[1])
    if n < MIN_HITS or n < MIN_SHARE * len(distinct) or n <= plain:
        return []
    if cipher == "reversed":
        return [Payload("reversed text", text[::-1])]
    if cipher == "atbash":
        return [Payload("atbash", _letters(text, _atbash))]
    k = int(cipher.removeprefix("shift "))
    return [Payload("rot13" if k == 13 else f"caesar {cipher}", _letters(text, lambda w: _shift(w, 26 - k)))]


def _letters(text: str, decode) -> str:  # noqa: ANN001 - a word -> word function
    """``text`` with every run of ASCII letters decoded (lowercased: the guard reads lowercase)."""
    return _WORDS.sub(lambda m: decode(m[0]), text.lower())


def _binary(run: str) -> str | None:
    groups = re.findall(r"[01]{8}", run)
    try:
        decoded = bytes(int(g, 2) for g in groups).decode("utf-8")
    except ValueError:
        return None
    letters = sum(c.isalpha() for c in decoded)
    return decoded if letters >= len(decoded) / 2 and all(c.isprintable() or c in "\n\t" for c in decoded) else None


def _unspaced(lowered: str, sep: str) -> str:
    """Letters spaced out with ``sep`` joined again; where a spaced-out word ended ("h o w   t o", "h-o-w t-o"),
    the gap stays."""
    run = re.compile(rf"(?<![a-z0-9])[a-z](?:{re.escape(sep)}[a-z])+(?![a-z0-9])")
    return run.sub(lambda m: m[0].replace(sep, ""), lowered)
