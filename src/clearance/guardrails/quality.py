"""How well a prompt guard labels prompts: the confusion table and the rates read from it.

A *detection* is any label but ``clean`` (every such label stops or escalates the call);
the table also shows whether the label was the right one. On the held-out split the rows
are grouped by what they are (see :mod:`.corpus`): benign prompts are reported apart by
source (JBB benign twins and the hand-written set; real users' requests; Alpaca, measured
only; XSTest's safe-but-scary prompts), and questions to answer with care apart again.

The in-the-wild set labels a prompt a jailbreak by where it was posted (jailbreak channels and sites), not by what
it asks, and some of its prompts are ordinary role-play briefs ("act as a freestyle rapper"). A review file
(:func:`reviewed`) says, prompt by prompt, whether a person reading it found an attack; with one the report also
splits the jailbreak rows into those read as attacks and those read as none.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..core.errors import ClearanceError
from . import domains
from .corpus import USERS, Example
from .verdict import PROMPT_LABELS, PromptGuard

TRUE_CLASSES = ("harmful", "prohibited-domain", "jailbreak", "clean", "care", "alpaca")


def confusion(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, dict[str, int]]:
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for t, p in zip(truth, predicted, strict=True):
        table[t][p] += 1
    return {t: {p: table[t][p] for p in PROMPT_LABELS} for t in sorted(table)}


def rates(table: dict[str, dict[str, int]]) -> dict[str, dict[str, float | int]]:
    """Per true label: rows, share flagged (any label but clean), share given exactly that label."""
    out: dict[str, dict[str, float | int]] = {}
    for t, row in table.items():
        n = sum(row.values())
        flagged = n - row.get("clean", 0)
        out[t] = {"n": n, "flagged": round(flagged / n, 4) if n else 0.0,
                  "exact": round(row.get(t, 0) / n, 4) if n and t in row else 0.0}
    return out


def _share(hits: int, n: int) -> dict[str, float | int]:
    return {"n": n, "rate": round(hits / n, 4) if n else 0.0}


BENIGN_SOURCE = {"xstest": "xstest-safe", USERS: "users"}
#: The pooled benign rates: the benchmarks' benign rows with Alpaca, and with the users' requests too.
POOLED = {"benign+alpaca": ("benign", "alpaca"), "benign+alpaca+users": ("benign", "alpaca", "users")}


REVIEW_HEADER = ("sha256", "verdict", "note")
#: A review's verdicts, each with the figure its jailbreak rows make (``jailbreak:unreviewed`` for rows it lacks).
REVIEWED = {"attack": "jailbreak:attack", "no-attack": "jailbreak:no-attack"}
REVIEW_VERDICTS = tuple(REVIEWED)
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ReviewFileError(ClearanceError):
    """A review file that does not read as one: the message names the file and line."""


def reviewed(path: Path) -> dict[str, str]:
    """A review of labelled prompts, sha256 of the prompt's text -> ``attack`` or ``no-attack``, from a
    tab-separated file with the header ``sha256 verdict note`` (the note is the reviewer's reason, free text)."""
    out: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReviewFileError(f"{path}: cannot read the review file ({exc})") from None
    if not lines or tuple(lines[0].split("\t")) != REVIEW_HEADER:
        raise ReviewFileError(f"{path}:1: the header must be {' / '.join(REVIEW_HEADER)}, tab-separated")
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(REVIEW_HEADER):
            raise ReviewFileError(f"{path}:{number}: {len(fields)} fields, expected {len(REVIEW_HEADER)}")
        sha, verdict, _ = fields
        if not _SHA256.fullmatch(sha):
            raise ReviewFileError(f"{path}:{number}: sha256 must be 64 lowercase hex digits, got {sha[:70]!r}")
        if verdict not in REVIEW_VERDICTS:
            raise ReviewFileError(f"{path}:{number}: verdict must be one of {', '.join(REVIEW_VERDICTS)}, got {verdict!r}")
        if sha in out:
            raise ReviewFileError(f"{path}:{number}: {sha[:12]}… is reviewed twice")
        out[sha] = verdict
    return out


def _groups(rows: Sequence[Example], review: Mapping[str, str] | None = None) -> dict[str, list[int]]:
    """Row indices per figure: each class, harmful rows per set, domain rows per domain, benign rows per source,
    and, with a ``review``, the jailbreak rows it read as attacks and as none."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(rows):
        if e.cls == "clean":
            groups[BENIGN_SOURCE.get(e.set, "scary" if e.category == "scary" else "benign")].append(i)
        elif e.cls == "prohibited-domain":
            groups[f"domain:{e.domain}"].append(i)
            groups["prohibited-domain"].append(i)
        else:
            groups[e.cls].append(i)
        if e.cls == "harmful":
            groups[f"harmful:{e.set}"].append(i)
        if e.cls == "jailbreak" and review is not None:
            verdict = review.get(hashlib.sha256(e.text.encode()).hexdigest())
            groups[REVIEWED.get(verdict, "jailbreak:unreviewed")].append(i)
    return groups


def _figures(groups: dict[str, list[int]], flagged: Sequence[bool]) -> dict[str, dict[str, float | int]]:
    figures = {name: _share(sum(flagged[i] for i in idx), len(idx)) for name, idx in sorted(groups.items())}
    for name, parts in POOLED.items():
        pooled = [i for part in parts for i in groups.get(part, [])]
        figures[name] = _share(sum(flagged[i] for i in pooled), len(pooled))
    return figures


def held_out_report(guard: PromptGuard, test: Sequence[Example], review: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every figure of the quality table for one guard on the held-out rows (with a :func:`reviewed` review, the
    jailbreak rows split by it too)."""
    rows = [e for e in test if e.cls in TRUE_CLASSES]
    verdicts = [guard.check_prompt(e.text) for e in rows]
    groups = _groups(rows, review)
    figures = _figures(groups, [v.label != "clean" for v in verdicts])
    for d in domains.DOMAINS:
        idx = groups.get(f"domain:{d}", [])
        right = sum(verdicts[i].label == "prohibited-domain" and verdicts[i].domain == d for i in idx)
        figures[f"domain-exact:{d}"] = _share(right, len(idx))
    jb = groups.get("jailbreak", [])
    figures["jailbreak-exact"] = _share(sum(verdicts[i].label == "jailbreak" for i in jb), len(jb))
    return {"guard": guard.version, "figures": figures,
            "confusion": confusion([e.cls for e in rows], [v.label for v in verdicts])}


def development_report(rows: Sequence[Example], flagged: Sequence[bool]) -> dict[str, Any]:
    """Detection rates per source from out-of-fold flags on the development part (no held-out row)."""
    return {"figures": _figures(_groups(rows), flagged)}
