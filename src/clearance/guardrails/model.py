"""The trained prompt guard at run time: one table of feature weights, read from JSON.

Checking needs no scikit-learn, no network and no pickle. The artifact maps each feature
string to its weights for five logistic outputs (harmful, jailbreak, and one per prohibited
domain); a prompt's scores are one dictionary lookup per feature, one small numpy sum
and five sigmoids. The label follows
the thresholds stored with the weights: a prohibited domain first (it is denied whatever
else holds), then jailbreak, then harmful, else clean.

Base64, hex and Morse runs are decoded and checked too; the worst verdict wins, and its features say the
payload was encoded.
"""

from __future__ import annotations

import copy
import hashlib
import math
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from ..core.errors import ClearanceError
from . import features
from .normalize import payloads
from .verdict import PromptLabel, PromptVerdict

ARTIFACT = "guard_model.json"
OUTPUTS = ("harmful", "jailbreak", "domain:military-command-control", "domain:synthetic-biology-design",
           "domain:critical-industrial-control")
DOMAIN_IDS = tuple(o.removeprefix("domain:") for o in OUTPUTS[2:])
SEVERITY = {"prohibited-domain": 3, "jailbreak": 2, "harmful": 1, "clean": 0}
EXPLAIN = 5


class GuardModelError(ClearanceError):
    """The artifact cannot be read or was trained with other feature code."""


def default_artifact() -> Path:
    return Path(str(files("clearance.guardrails") / ARTIFACT))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def readable(feature: str) -> str:
    if feature.startswith("x:"):
        return f"concept '{feature[2:]}'"
    return f"{'phrase' if ' ' in feature else 'word'} '{feature}'"


class TrainedPromptGuard:
    """:class:`~clearance.guardrails.verdict.PromptGuard` over the trained weights."""

    name = "trained"

    def __init__(self, artifact: dict[str, Any], digest: str) -> None:
        if artifact.get("features_version") != features.VERSION or artifact.get("outputs") != list(OUTPUTS):
            raise GuardModelError(f"guard artifact was trained with features {artifact.get('features_version')}, "
                                  f"this code has {features.VERSION}: retrain with `clearance guard train`")
        self.vocab: dict[str, int] = {f: i for i, f in enumerate(artifact["vocabulary"])}
        self.names: list[str] = list(artifact["vocabulary"])
        self.weights = np.asarray(artifact["weights"], dtype=np.float64).reshape(len(self.names), len(OUTPUTS))
        self.bias = np.asarray(artifact["bias"], dtype=np.float64)
        self.thresholds: dict[str, float] = dict(artifact["thresholds"])
        self.digest = digest
        self.full_scan = False  # read every slice of a long prompt, not only its head, tail and samples
        self.version = f"guard-1:{digest[:12]}"

    @classmethod
    def load(cls, path: str | Path | None = None) -> TrainedPromptGuard:
        where = Path(path) if path else default_artifact()
        try:
            raw = where.read_bytes()
            artifact = orjson.loads(raw)
        except (OSError, orjson.JSONDecodeError) as exc:
            raise GuardModelError(f"{where}: cannot read the guard artifact: {exc}") from None
        if not isinstance(artifact, dict):
            raise GuardModelError(f"{where}: the guard artifact is not a JSON object")
        try:
            return cls(artifact, hashlib.sha256(raw).hexdigest())
        except (KeyError, TypeError, ValueError) as exc:
            raise GuardModelError(f"{where}: the guard artifact is malformed: {exc!r}") from None

    def scores(self, text: str) -> tuple[dict[str, float], list[int], np.ndarray]:
        """Every output's probability for one normalized text, with the feature rows behind them."""
        vocab = self.vocab
        terms, concepts = features.extract(text)
        ids = [vocab[f] for f in terms if f in vocab]
        counted = len(ids)
        ids += [vocab[f] for f in concepts if f in vocab]
        rows = self.weights[ids]
        z = self.bias + rows[counted:].sum(axis=0)
        if counted:
            z = z + rows[:counted].sum(axis=0) / math.sqrt(counted)
        return {name: _sigmoid(float(v)) for name, v in zip((*OUTPUTS[:2], *DOMAIN_IDS), z, strict=True)}, ids, rows

    def label_of(self, s: dict[str, float]) -> tuple[PromptLabel, float, str | None, int]:
        best = max(DOMAIN_IDS, key=lambda d: s[d])
        if s[best] >= self.thresholds["prohibited-domain"]:
            return "prohibited-domain", s[best], best, 2 + DOMAIN_IDS.index(best)
        if s["jailbreak"] >= self.thresholds["jailbreak"]:
            return "jailbreak", s["jailbreak"], None, 1
        if s["harmful"] >= self.thresholds["harmful"]:
            return "harmful", s["harmful"], None, 0
        return "clean", max(s["harmful"], s["jailbreak"], s[best]), None, -1

    def _verdict(self, text: str, extra: tuple[str, ...]) -> PromptVerdict:
        s, ids, rows = self.scores(text)
        label, score, domain, column = self.label_of(s)
        if column < 0:  # clean: explain the strongest pull towards any label
            column = int(np.argmax([s["harmful"], s["jailbreak"]]))
        reasons: list[str] = list(extra)
        if ids:
            pull = rows[:, column]
            order = [j for j in np.argsort(-pull, kind="stable")[:EXPLAIN] if pull[j] > 0]
            reasons.extend(readable(self.names[ids[j]]) for j in order)
        ranked = (("prohibited-domain", max(s[d] for d in DOMAIN_IDS)), ("harmful", s["harmful"]),
                  ("jailbreak", s["jailbreak"]), *((f"domain:{d}", s[d]) for d in DOMAIN_IDS))
        return PromptVerdict(label, round(score, 6), domain, tuple(reasons),
                             tuple((k, round(v, 6)) for k, v in ranked))

    def check_prompt(self, text: str) -> PromptVerdict:
        norm = features.read(text)
        verdict = self._verdict(norm.text, norm.disguises)
        for found in payloads(text):
            inner = features.read(found.text)
            verdict = _worse(verdict, self._verdict(inner.text, (f"obfuscation: {found.encoding} payload",
                                                                 *inner.disguises)))
        if self.full_scan:
            for start, part in features.spans(text):
                inner = features.read(part)
                verdict = _worse(verdict, self._verdict(inner.text, (f"in the part from character {start}",
                                                                     *inner.disguises)))
        return verdict


def _worse(verdict: PromptVerdict, found: PromptVerdict) -> PromptVerdict:
    """The verdict to keep of two readings of one prompt: the graver label, then the higher score."""
    if SEVERITY[found.label] > SEVERITY[verdict.label] or (found.label == verdict.label and found.score > verdict.score):
        return found
    return verdict


@lru_cache(maxsize=4)
def load_prompt_guard(path: str | None = None, full_scan: bool = False) -> TrainedPromptGuard:
    """The guard from ``path`` (default: the shipped artifact), read once per process; the full-scan
    guard shares the sampled one's weights rather than reading and parsing the artifact again."""
    if not full_scan:
        return TrainedPromptGuard.load(path)
    guard = copy.copy(load_prompt_guard(path, False))
    guard.full_scan = True
    guard.version += ":full"
    return guard
