"""The trained prompt guard at run time: one table of feature weights, read from JSON.

Checking needs no scikit-learn, no network and no pickle. The artifact maps each feature
string to its weights for five logistic outputs (harmful, jailbreak, and one per prohibited
domain); a prompt's scores are one dictionary lookup per feature, one small numpy sum
and five sigmoids. The label follows
the thresholds stored with the weights: a prohibited domain first (it is denied whatever
else holds), then jailbreak, then harmful, else clean.

Base64, hex and Morse runs are decoded and checked too, and so are the ciphers and spellings red-teaming
tools wrap requests in (:mod:`.ciphers`); a short request is read again restated in the present tense and
the imperative (:mod:`.restate`). The worst verdict wins, and its features say which reading it was
(:func:`other_readings`).
"""

from __future__ import annotations

import copy
import hashlib
import math
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
import orjson

from ..core.errors import ClearanceError
from . import features
from .ciphers import deciphered
from .lookup import VocabularyLookup
from .normalize import LEET_THROUGHOUT, Normalized, payloads, unleeted
from .restate import restated
from .verdict import RESTATED_REASON, SENTENCE_REASON, PromptLabel, PromptVerdict

T = TypeVar("T")

ARTIFACT = "guard_model.json"
OUTPUTS = ("harmful", "jailbreak", "domain:military-command-control", "domain:synthetic-biology-design",
           "domain:critical-industrial-control")
DOMAIN_IDS = tuple(o.removeprefix("domain:") for o in OUTPUTS[2:])
SEVERITY = {"prohibited-domain": 3, "jailbreak": 2, "harmful": 1, "clean": 0}
EXPLAIN = 5
# A prompt whose whole reads at least this harmful also has each sentence read alone (features.sentences):
# a request wrapped in other text raises the whole's score a little, an ordinary prompt seldom does, and
# most prompts skip the sentence readings' cost. Chosen on development out-of-fold figures (round 8 in the
# README: 0.1 and 0.2 gave the same detection, 0.2 reads the sentences of fewer prompts).
SENTENCE_GATE = 0.2
# A sentence threshold this high reads no sentence: what training writes when no threshold keeps within its cost,
# and what an artifact from before round 8, which has none, is read with.
SENTENCE_OFF = 1.0
_NAMES = (*OUTPUTS[:2], *DOMAIN_IDS)  # the keys of a scores dictionary, in the outputs' order
_DOMAIN_KEYS = tuple(f"domain:{d}" for d in DOMAIN_IDS)  # a verdict's per-domain score names
_SUM = np.add.reduce  # what ndarray.sum calls, without its Python wrapper


def from_sentence(verdict: PromptVerdict) -> bool:
    """Whether a harmful verdict came from one sentence of the prompt read alone."""
    return verdict.label == "harmful" and bool(verdict.features) and verdict.features[0].startswith(SENTENCE_REASON)


class GuardModelError(ClearanceError):
    """The artifact cannot be read or was trained with other feature code."""


def default_artifact() -> Path:
    return Path(str(files("clearance.guardrails") / ARTIFACT))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def _probabilities(logits: Iterable[float]) -> dict[str, float]:
    """The scores dictionary of the outputs' logits, in the outputs' order."""
    return dict(zip(_NAMES, map(_sigmoid, logits), strict=True))


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
        weights = np.asarray(artifact["weights"], dtype=np.float64).reshape(len(self.names), len(OUTPUTS))
        # The hot path's tables: row 0 is a zero row for "no such feature" (see lookup), so the
        # rows of feature i are self._rows[i + 1]; self.weights is the same memory, by feature.
        self._lookup = VocabularyLookup(self.names)
        self._rows = np.vstack([np.zeros((1, len(OUTPUTS))), weights])
        self.weights = self._rows[1:]
        self._columns = [np.ascontiguousarray(self._rows[:, j]) for j in range(len(OUTPUTS))]  # pulls, by output
        self._reasons = ["", *map(readable, self.names)]
        self._harm: list[float] = self._rows[:, 0].tolist()  # the harmful output's weight per row
        self.bias = np.asarray(artifact["bias"], dtype=np.float64)
        self._bias: list[float] = self.bias.tolist()
        self._lookup.weigh(self._rows, self._bias)  # where the table is compiled, the sums are taken in C too
        self.thresholds: dict[str, float] = dict(artifact["thresholds"])
        self._sentence_cut = float(self.thresholds.get("sentence", SENTENCE_OFF))
        self.digest = digest
        self.full_scan = False  # read every slice of a long prompt, not only its head, tail and samples
        self.version = f"guard-1:{digest[:12]}"

    @classmethod
    def load(cls, path: str | Path | None = None) -> TrainedPromptGuard:
        return built_from(Path(path) if path else default_artifact(), "the guard artifact", cls)

    def scores(self, text: str) -> tuple[dict[str, float], list[int], np.ndarray]:
        """Every output's probability for one normalized text, with the features (vocabulary
        indices) and weight rows behind them."""
        s, found = self._scores(text)
        return s, [i - 1 for i in found], self._rows.take(np.fromiter(found, np.intp, len(found)), axis=0)

    def probabilities(self, text: str) -> dict[str, float]:
        """Every output's probability for one normalized text (``scores`` without the features)."""
        return self._scores(text)[0]

    def _scores(self, text: str) -> tuple[dict[str, float], list[int]]:
        """(each output's probability, the rows of the text's features): the logits from the compiled table
        where it reads the text, else summed here in numpy, to the same bits."""
        summed = self._lookup.logits(text)
        if summed is None:
            found, counted = self._lookup.rows(text)
            return self._scored(found, counted), found
        return _probabilities(summed[2]), summed[0]

    def _scored(self, found: list[int], counted: int) -> dict[str, float]:
        # The weights are summed as the plain path (features.extract, then a lookup per feature)
        # sums them, rows in ascending order (lookup.VocabularyLookup) and the same numpy
        # reductions, so the floats agree to the last bit, in every process.
        rows = self._rows.take(np.fromiter(found, np.intp, len(found)), axis=0)  # cheaper than indexing by a list
        # bias + concepts, then + terms / sqrt(count): numpy's sums over the rows, then the same
        # double-precision arithmetic per output in Python, cheaper than three more numpy calls
        z = map(float.__add__, self._bias, _SUM(rows[counted:], axis=0).tolist())
        if counted:
            scale = math.sqrt(counted)
            z = [a + t / scale for a, t in zip(z, _SUM(rows[:counted], axis=0).tolist(), strict=True)]
        return _probabilities(z)

    def label_of(self, s: dict[str, float]) -> tuple[PromptLabel, float, str | None, int]:
        best = max(DOMAIN_IDS, key=lambda d: s[d])
        if s[best] >= self.thresholds["prohibited-domain"]:
            return "prohibited-domain", s[best], best, 2 + DOMAIN_IDS.index(best)
        if s["jailbreak"] >= self.thresholds["jailbreak"]:
            return "jailbreak", s["jailbreak"], None, 1
        if s["harmful"] >= self.thresholds["harmful"]:
            return "harmful", s["harmful"], None, 0
        return "clean", max(s["harmful"], s["jailbreak"], s[best]), None, -1

    def _reading(self, text: str, extra: tuple[str, ...]) -> _Reading:
        """One reading's scores and label, its explanation not yet built."""
        s, found = self._scores(text)
        label, score, domain, column = self.label_of(s)
        return _Reading(label, round(score, 6), domain, column, s, found, extra)

    def _sentences(self, kept: _Reading, whole: _Reading, text: str, extra: tuple[str, ...]) -> _Reading:
        """``kept``, or the worst of ``text``'s sentences read alone where one is harmful. A sentence can only make
        a prompt harmful, so a prompt already flagged skips them (most prompts that reach the gate are)."""
        if kept.label != "clean" or whole.s["harmful"] < SENTENCE_GATE or self._sentence_cut >= SENTENCE_OFF:
            return kept
        for sentence in features.sentences(text):
            found = self._sentence_reading(sentence, extra)
            if found is not None:
                kept = _worse(kept, found)
        return kept

    def _sentence_reading(self, sentence: str, disguises: tuple[str, ...]) -> _Reading | None:
        """A sentence read alone for the harmful request it may be, at the sentence threshold; None below it.
        Only the harmful head: a template's lines, read one by one, read like ordinary users' role prompts."""
        summed = self._lookup.logits(sentence)
        if summed is not None:
            found, _, z = summed
            if _sigmoid(z[0]) < self._sentence_cut:
                return None
            s = _probabilities(z)
        else:
            # Most sentences are far below the threshold: a plain sum of the harmful weights turns them away
            # before numpy is called. The margin covers the sums' rounding, so no sentence at the threshold is
            # missed.
            found, counted = self._lookup.rows(sentence)
            harm = self._harm
            z0 = self._bias[0] + sum(map(harm.__getitem__, found[counted:]))
            if counted:
                z0 += sum(map(harm.__getitem__, found[:counted])) / math.sqrt(counted)
            if _sigmoid(z0) < self._sentence_cut - 1e-9:
                return None
            s = self._scored(found, counted)
            if s["harmful"] < self._sentence_cut:
                return None
        shown = sentence if len(sentence) <= 120 else sentence[:117] + "..."
        return _Reading("harmful", round(s["harmful"], 6), None, 0, s, found, (SENTENCE_REASON + shown, *disguises))

    def _verdict(self, r: _Reading) -> PromptVerdict:
        s, found, column = r.s, r.found, r.column
        if column < 0:  # clean: explain the strongest pull towards any label (the first on a tie)
            column = 1 if s["jailbreak"] > s["harmful"] else 0
        reasons: list[str] = list(r.extra)
        if found:
            # The strongest positive pulls; ties go to the feature first in the vocabulary.
            ids = np.fromiter(found, np.intp, len(found))
            pull = self._columns[column].take(ids)
            positive = pull > 0
            ids, pull = ids[positive], pull[positive]
            if len(ids):
                top = ids[np.lexsort((ids, -pull))[:EXPLAIN]].tolist()
                reasons.extend(map(self._reasons.__getitem__, top))
        domains = [round(s[d], 6) for d in DOMAIN_IDS]  # rounding keeps order: max of rounded = rounded max
        ranked = (("prohibited-domain", max(domains)), ("harmful", round(s["harmful"], 6)),
                  ("jailbreak", round(s["jailbreak"], 6)), *zip(_DOMAIN_KEYS, domains, strict=True))
        return PromptVerdict(r.label, r.score, r.domain, tuple(reasons), ranked)

    def check_prompt(self, text: str) -> PromptVerdict:
        # Every reading is scored; only the one kept is explained (ranking the reasons is a fifth of a reading).
        norm = features.read(text)
        kept = whole = self._reading(norm.text, norm.disguises)
        for other, reasons in other_readings(text, norm):
            kept = _worse(kept, self._reading(other, reasons))
        kept = self._sentences(kept, whole, norm.text, norm.disguises)
        if self.full_scan:  # every slice is read as the window is, its sentences included
            for start, part in features.spans(text):
                inner = features.read(part)
                where = (f"in the part from character {start}", *inner.disguises)
                found = self._reading(inner.text, where)
                kept = self._sentences(_worse(kept, found), found, inner.text, where)
        return self._verdict(kept)


class _Reading(NamedTuple):
    """A reading scored and labelled (``score`` rounded as the verdict gives it), with what its explanation needs."""

    label: PromptLabel
    score: float
    domain: str | None
    column: int  # the output whose pulls explain it (-1: clean)
    s: dict[str, float]
    found: list[int]  # the rows of its features (feature i is row i + 1)
    extra: tuple[str, ...]


def other_readings(text: str, norm: Normalized) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every reading of a prompt the guard checks besides its normalized window ``norm``, with the reasons
    that say which it is: the request restated (:mod:`.restate`), then what its encoded runs (base64, hex,
    Morse) and its ciphers and spellings (:mod:`.ciphers`) decode to. Training scores them the same way."""
    for view in restated(norm.text):
        yield view, (RESTATED_REASON + view, *norm.disguises)
    if norm.leet_share >= LEET_THROUGHOUT:
        whole = unleeted(norm.text)
        if whole is not None:
            yield whole, ("obfuscation: leetspeak throughout", *norm.disguises)
    for found in (*payloads(text), *deciphered(features.window(text))):
        inner = features.read(found.text)
        yield inner.text, (f"obfuscation: {found.encoding} payload", *inner.disguises)


def built_from(where: Path, what: str, build: Callable[[dict[str, Any], str], T]) -> T:
    """``build(artifact, sha256 of its bytes)`` from the JSON file ``where``; every failure a
    :class:`GuardModelError` naming the file and ``what`` it should have been."""
    try:
        raw = where.read_bytes()
        artifact = orjson.loads(raw)
    except (OSError, orjson.JSONDecodeError) as exc:
        raise GuardModelError(f"{where}: cannot read {what}: {exc}") from None
    if not isinstance(artifact, dict):
        raise GuardModelError(f"{where}: {what} is not a JSON object")
    try:
        return build(artifact, hashlib.sha256(raw).hexdigest())
    except (KeyError, TypeError, ValueError) as exc:
        raise GuardModelError(f"{where}: {what} is malformed: {exc!r}") from None


_Graded = TypeVar("_Graded", PromptVerdict, _Reading)


def _worse(verdict: _Graded, found: _Graded) -> _Graded:
    """The verdict (or reading) to keep of two readings of one prompt: the graver label, then the higher score."""
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
