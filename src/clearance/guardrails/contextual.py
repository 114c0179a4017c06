"""The contextual reading of a prompt: the lexical guard, then a sentence encoder on what it let pass.

The lexical guard (:mod:`.model`) reads words and word pairs, so it learns the benchmark sets'
wording: a plain request in everyday words ("how do I make a pipe bomb at home") can pass, and
its false positives come from benign prompts worded like the benchmarks. A sentence encoder
(all-MiniLM-L6-v2, :mod:`.encoder`) reads the meaning of the whole window. Out of fold on the
development part, adding the encoder's harmful logit to the lexical one caught more harmful
requests at the same false-positive rate on everyday instructions than either alone; at about
a hundred times the lexical guard's CPU per call, it is opt-in, per guard rule
(``reading: contextual``).

What changes: the harmful label, and the jailbreak label where the head has a ``jailbreak``
part. A prohibited-domain or jailbreak verdict of the lexical guard stands (both are graver).
Otherwise, with a jailbreak part, the jailbreak score becomes ``sigmoid(logit(p_jailbreak) +
weight * jailbreak_head(encoder))`` (a linear head on the same pass), a jailbreak at its own
threshold; and the harmful score becomes
``q = sigmoid(logit(p) + weight * head(encoder))``, ``p`` the lexical harmful probability,
and the label is harmful when ``q`` reaches the head's threshold. ``head`` reads the poolings
the artifact names from one encoder pass through a linear layer ``x . coef + bias``, or, with
a ``hidden`` layer, ``relu(x @ W + b) . coef + bias``. A head that names an ``adapter`` (the
shipped one) reads an encoder fine-tuned as the harmful classifier: the adapter file beside the
head holds low-rank updates of the encoder's weights (:mod:`.adapter`), merged in once at load,
so a call costs what the frozen encoder's does. So the reading
in context can also clear a prompt the words alone would flag ("How do I kill a Python
process?"): it is a better classifier at the same false-positive budget, not a second gate.
The adapter, the head, the weight and the threshold are trained by :mod:`.contextual_finetune`
on the development part only, within the budget the lexical harmful threshold was set to; a
head, an adapter or an encoder other than the ones recorded is refused at load.

The encoder reads the prompt's normalized window (the same text the lexical guard's main
reading takes); decoded payloads are the lexical guard's alone.
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from . import features
from .model import GuardModelError, TrainedPromptGuard, built_from, from_sentence, load_prompt_guard
from .verdict import PromptVerdict

HEAD = "guard_contextual.json"
ADAPTER = "guard_adapter.safetensors"  # beside the head: the encoder's low-rank adapter (adapter.py)
KIND = "clearance-contextual-head"


def default_head() -> Path:
    return Path(str(files("clearance.guardrails") / HEAD))


def logit(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log(p / (1 - p))


def combine(p: float, encoder_logit: float, weight: float) -> float:
    """The contextual harmful probability from the lexical one and the encoder head's logit."""
    z = logit(p) + weight * encoder_logit
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


class ContextualPromptGuard:
    """:class:`~clearance.guardrails.verdict.PromptGuard`: the lexical guard, then the encoder head."""

    name = "contextual"

    def __init__(self, base: TrainedPromptGuard, head: dict[str, Any], digest: str, encoder: Any,
                 folder: Path | None = None) -> None:
        if head.get("kind") != KIND:
            raise GuardModelError("not a contextual guard head: retrain with `clearance guard train-contextual`")
        if head.get("base_guard") != base.version.split(":full")[0]:
            raise GuardModelError(f"the contextual head was fitted on guard {head.get('base_guard')}, this guard is "
                                  f"{base.version}: retrain with `clearance guard train-contextual`")
        if head.get("encoder", {}).get("sha256") != encoder.digest:
            raise GuardModelError("the contextual head was fitted on another sentence encoder "
                                  f"({head.get('encoder', {}).get('name')}): retrain with "
                                  "`clearance guard train-contextual`")
        self.base = base
        self.encoder = encoder
        if head.get("adapter") is not None:
            # The head reads an adapted encoder: the adapter's file must be the one the head was trained with.
            self.encoder = adapted(encoder, head["adapter"], folder or default_head().parent)
        # Heads from before the field read the last layer's mean pooling only (what encode() gives, to the bit).
        # A missing or ill-typed field raises here and built_from names the file as malformed.
        self.poolings = tuple(head.get("poolings", ("mean:6",)))
        self.coef = np.asarray(head["coef"], dtype=np.float32)
        self.bias = float(head["bias"])
        self.weight = float(head["weight"])
        self.threshold = float(head["threshold"])
        hidden = head.get("hidden")
        self.hidden = None if hidden is None else (np.asarray(hidden["weights"], dtype=np.float32),
                                                    np.asarray(hidden["bias"], dtype=np.float32))
        if not self.poolings or not all(isinstance(p, str) for p in self.poolings):
            raise GuardModelError(f"the contextual guard head's field poolings is not a list of names: {self.poolings}")
        if hasattr(encoder, "layers"):  # the real encoder: a pooling it cannot read is refused at load, not per call
            from .encoder import pooling

            try:
                for name in self.poolings:
                    pooling(name, len(encoder.layers))
            except ValueError as exc:
                raise GuardModelError(f"the contextual guard head's field poolings: {exc}") from None
        width = getattr(encoder, "hidden", None)
        inputs = width * len(self.poolings) if width else None
        if self.hidden is not None:
            w, b = self.hidden
            if w.ndim != 2 or b.shape != (w.shape[1],) or self.coef.shape != (w.shape[1],) \
                    or (inputs and w.shape[0] != inputs):
                raise GuardModelError(f"the contextual guard head's hidden layer {list(w.shape)}, its bias "
                                      f"{list(b.shape)} and coef {list(self.coef.shape)} do not fit together and the "
                                      f"{len(self.poolings)} poolings of the encoder")
        elif self.coef.ndim != 1 or (inputs and self.coef.shape[0] != inputs):
            raise GuardModelError(f"the contextual guard head's coef has {list(self.coef.shape)} numbers, the "
                                  f"encoder gives {inputs} for the poolings {list(self.poolings)}")
        # The jailbreak part reads the same poolings as the harmful head's first layer.
        reads = inputs or (self.hidden[0].shape[0] if self.hidden is not None else self.coef.shape[0])
        self.jailbreak = _jailbreak_head(head.get("jailbreak"), reads)
        self.digest = digest
        self.version = f"{base.version}+ctx:{digest[:12]}"

    @classmethod
    def load(cls, base: TrainedPromptGuard, encoder: Any, path: str | Path | None = None) -> ContextualPromptGuard:
        where = Path(path) if path else default_head()
        return built_from(where, "the contextual guard head",
                          lambda head, digest: cls(base, head, digest, encoder, where.parent))

    def vectors(self, texts: list[str]) -> np.ndarray:
        """The adapted encoder's poolings of prompts (each read as the guard reads it: its normalized window)."""
        # One BLAS thread: a gateway serves calls on every core already, and OpenBLAS's idle
        # threads spin on a busy machine (a test module took 81 s instead of 4 with them).
        windows = [features.read(t).text for t in texts]
        with threadpool_limits(limits=1):
            return self.encoder.encode_layers(windows, self.poolings)

    def encoder_logits(self, texts: list[str]) -> np.ndarray:
        """The encoder's harmful head's logit for prompts."""
        return self.harmful_logits(self.vectors(texts))

    def harmful_logits(self, vectors: np.ndarray) -> np.ndarray:
        if self.hidden is not None:
            vectors = np.maximum(vectors @ self.hidden[0] + self.hidden[1], np.float32(0))
        return vectors @ self.coef + self.bias

    def check_prompt(self, text: str) -> PromptVerdict:
        verdict = self.base.check_prompt(text)
        if verdict.label in ("prohibited-domain", "jailbreak") or from_sentence(verdict):
            return verdict  # a sentence read alone stands: the encoder reads the whole prompt, not that sentence
        vectors = self.vectors([text])
        jailbreak = None if self.jailbreak is None else float(self.jailbreak.logits(vectors)[0])
        return self.decide(verdict, float(self.harmful_logits(vectors)[0]), jailbreak)

    def decide(self, verdict: PromptVerdict, encoder_logit: float, jailbreak_logit: float | None = None
               ) -> PromptVerdict:
        """The contextual verdict from the lexical one and the encoder heads' logits for the same prompt.

        A jailbreak read in context outranks a harmful one, as in the lexical guard."""
        scores = dict(verdict.scores)
        q = round(combine(scores["harmful"], encoder_logit, self.weight), 6)
        reasons = [f"context: sentence encoder {encoder_logit:+.2f}, harmful {q:.2f} read in context"]
        j = scores["jailbreak"]
        if self.jailbreak is not None and jailbreak_logit is not None:
            j = round(combine(scores["jailbreak"], jailbreak_logit, self.jailbreak.weight), 6)
            reasons.append(f"context: jailbreak head {jailbreak_logit:+.2f}, jailbreak {j:.2f} read in context")
        ranked = tuple((k, q if k == "harmful" else j if k == "jailbreak" else v) for k, v in verdict.scores)
        # A flag's own reading leads its reasons; the other reading in context is still named, last.
        if self.jailbreak is not None and j >= self.jailbreak.threshold:
            return PromptVerdict("jailbreak", j, None, (reasons[-1], *verdict.features, reasons[0]), ranked)
        if q >= self.threshold:
            return PromptVerdict("harmful", q, None, (reasons[0], *verdict.features, *reasons[1:]), ranked)
        return PromptVerdict("clean", max(q, j, scores["prohibited-domain"]), None, (*verdict.features, *reasons),
                             ranked)


class JailbreakHead:
    """A linear head on the same poolings, read beside the lexical jailbreak logit: ``sigmoid(logit(p_jailbreak)
    + weight * (x . coef + bias))``, a jailbreak at ``threshold`` or more."""

    def __init__(self, record: dict[str, Any], width: int | None) -> None:
        self.coef = np.asarray(record["coef"], dtype=np.float32)
        self.bias = float(record["bias"])
        self.weight = float(record["weight"])
        self.threshold = float(record["threshold"])
        if self.coef.ndim != 1 or (width and self.coef.shape[0] != width):
            raise GuardModelError(f"the contextual guard head's jailbreak coef has {list(self.coef.shape)} numbers, "
                                  f"the encoder gives {width}")

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        return vectors @ self.coef + self.bias


def _jailbreak_head(record: Any, width: int | None) -> JailbreakHead | None:
    if record is None:
        return None
    if not isinstance(record, dict):
        raise GuardModelError("the contextual guard head's field jailbreak is not an object")
    return JailbreakHead(record, width)


def adapted(encoder: Any, record: dict[str, Any], folder: Path) -> Any:
    """The encoder with the head's adapter merged in, after checking the adapter file is the one recorded."""
    import hashlib

    from .adapter import Adapter

    path = folder / Path(str(record["file"])).name  # a file beside the head, never elsewhere
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise GuardModelError(f"{path}: cannot read the contextual head's encoder adapter ({exc.strerror}): "
                              "reinstall clearance or retrain with `clearance guard train-contextual`") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != record["sha256"]:
        raise GuardModelError(f"{path}: the encoder adapter is not the one the contextual head was trained with "
                              f"(sha256 {digest[:12]}, the head names {str(record['sha256'])[:12]}): reinstall "
                              "clearance or retrain with `clearance guard train-contextual`")
    if not hasattr(encoder, "layers"):
        raise GuardModelError(f"the contextual head's adapter needs the numpy sentence encoder, not {encoder!r}")
    return Adapter(path, encoder, raw).apply(encoder)


@lru_cache(maxsize=4)
def load_contextual_guard(head: str | None = None, full_scan: bool = False,
                          encoder: str | None = None) -> ContextualPromptGuard:
    """The shipped lexical guard (sampled or full scan) under the shipped head, read once per process.

    Raises :class:`~clearance.guardrails.encoder.EncoderUnavailable` when the encoder's files are
    not installed: a caller that needs this reading must then refuse, not fall back silently.
    """
    from .encoder import load_encoder

    return ContextualPromptGuard.load(load_prompt_guard(None, full_scan), load_encoder(encoder), head)


class LazyContextualGuard:
    """The contextual guard, loaded on its first check: a gateway whose policy never asks for the
    contextual reading never reads the encoder's 90 MB. Where it cannot be loaded, every check
    raises, so the gateway refuses the call (fail closed) and logs why."""

    name = "contextual"

    def __init__(self, full_scan: bool = False) -> None:
        self.full_scan = full_scan

    @property
    def version(self) -> str:
        return load_contextual_guard(None, self.full_scan).version

    def check_prompt(self, text: str) -> PromptVerdict:
        return load_contextual_guard(None, self.full_scan).check_prompt(text)
