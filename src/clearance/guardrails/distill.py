"""Distilling a sentence encoder into a table of static token vectors (the model2vec idea).

A 6-layer encoder is far too slow for the guard's 0.3 ms budget, but what it knows about a
single word is cheap to keep: every vocabulary token is run through the encoder alone
(``[CLS] token [SEP]``), its output mean-pooled as the sentence encoder pools a sentence,
and the 384-wide vectors are reduced by PCA to :data:`DIMS` columns. Rare tokens are
weighted up and frequent ones down (a smooth-inverse-frequency weight on a Zipf estimate
of the token's frequency from its rank among the vocabulary's words, after model2vec), so the mean of a
prompt's rows leans on its content words. The table ships as raw little-endian float16
(``guard_embed.f16``, vocabulary-order rows) beside the encoder's ``vocab.txt`` (``guard_vocab.txt``), whose
WordPiece vocabulary :mod:`.embed` tokenizes with at run time.

This runs only when the table is regenerated (``clearance guard distill --model-dir``),
in numpy (scipy for ``erf``): no torch. Same model files, same bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

DIMS = 64
SIF = 1e-4  # model2vec's default smooth-inverse-frequency coefficient
BATCH = 1024
TABLE = "guard_embed.f16"
VOCAB = "guard_vocab.txt"
PROVENANCE = "guard_embed.json"  # what the table was made from, copied into the guard artifact and its card
FIRST_WORD = "the"
SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def _weights(model_dir: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    raw = load_file(str(model_dir / "model.safetensors"))
    return {k.removeprefix("bert."): v.astype(np.float32) for k, v in raw.items()}


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # BERT's exact GELU, not the tanh approximation

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def forward(w: dict[str, np.ndarray], config: dict[str, Any], ids: np.ndarray) -> np.ndarray:
    """The encoder's last hidden states for a batch of equal-length id rows (no padding): BERT's forward."""
    eps = float(config.get("layer_norm_eps", 1e-12))
    heads = int(config["num_attention_heads"])
    batch, length = ids.shape
    x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    width = x.shape[-1] // heads

    def dense(h: np.ndarray, name: str) -> np.ndarray:
        # As one 2-D product: numpy's stacked matmul over a 3-D operand does not reach BLAS.
        flat = h.reshape(-1, h.shape[-1]) @ w[name + ".weight"].T + w[name + ".bias"]
        return flat.reshape(*h.shape[:-1], -1)

    for n in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{n}."
        q, k, v = (dense(x, p + f"attention.self.{m}").reshape(batch, length, heads, width).transpose(0, 2, 1, 3)
                   for m in ("query", "key", "value"))
        att = q @ k.transpose(0, 1, 3, 2) / np.sqrt(width)
        att = np.exp(att - att.max(axis=-1, keepdims=True))
        att /= att.sum(axis=-1, keepdims=True)
        ctx = (att @ v).transpose(0, 2, 1, 3).reshape(batch, length, heads * width)
        x = _layer_norm(x + dense(ctx, p + "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"],
                        w[p + "attention.output.LayerNorm.bias"], eps)
        inner = _gelu(dense(x, p + "intermediate.dense"))
        x = _layer_norm(x + dense(inner, p + "output.dense"), w[p + "output.LayerNorm.weight"],
                        w[p + "output.LayerNorm.bias"], eps)
    return x


def read_vocab(path: Path) -> list[str]:
    # One token a line; not splitlines(), which also breaks at the odd Unicode separators some tokens are.
    text = path.read_text(encoding="utf-8")
    return text.removesuffix("\n").split("\n")


def token_vectors(model_dir: Path) -> np.ndarray:
    """Every vocabulary token's mean-pooled output, run alone between [CLS] and [SEP]."""
    config = json.loads((model_dir / "config.json").read_text())
    vocab = read_vocab(model_dir / "vocab.txt")
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    w = _weights(model_dir)
    out = np.zeros((len(vocab), int(config["hidden_size"])), dtype=np.float32)
    for start in range(0, len(vocab), BATCH):
        ids = np.arange(start, min(start + BATCH, len(vocab)))
        rows = np.stack([np.full_like(ids, cls), ids, np.full_like(ids, sep)], axis=1)
        out[ids] = forward(w, config, rows).mean(axis=1)
    return out


def reduce(vectors: np.ndarray, dims: int = DIMS) -> np.ndarray:
    """PCA to ``dims`` columns, each component's sign fixed so its largest loading is positive (deterministic)."""
    x = vectors.astype(np.float64)
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    comps = vt[:dims]
    signs = np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(axis=1)])
    return x @ (comps * signs[:, None]).T


def zipf_weights(count: int, first: int = 0) -> np.ndarray:
    """SIF weight a / (a + p) with p the Zipf frequency estimate of a token's rank.

    Ranks count from ``first``, the vocabulary's first whole word (BERT's vocabulary opens with
    unused slots and single characters, then words by frequency, "the" first); the entries before
    it share rank 1, so punctuation and lone characters weigh almost nothing.
    """
    ranks = np.maximum(1, np.arange(count) - first + 1).astype(np.float64)
    p = (1.0 / ranks) / (1.0 / np.arange(1, count - first + 1, dtype=np.float64)).sum()
    return SIF / (SIF + p)


def distill(model_dir: Path, dims: int = DIMS) -> tuple[bytes, list[str]]:
    """(float16 table bytes, vocabulary) from an encoder directory (model.safetensors, config.json, vocab.txt)."""
    vocab = read_vocab(model_dir / "vocab.txt")
    first = vocab.index(FIRST_WORD) if FIRST_WORD in vocab else 0
    table = reduce(token_vectors(model_dir), dims) * zipf_weights(len(vocab), first)[:, None]
    for special in SPECIAL:  # never a content word: the mean of a prompt skips them
        if special in vocab:
            table[vocab.index(special)] = 0.0
    return table.astype("<f2").tobytes(), vocab


def write(model_dir: Path, out_dir: Path, dims: int = DIMS) -> dict[str, Any]:
    """Write the table and its vocabulary into ``out_dir``; returns their provenance for the model card."""
    raw, vocab = distill(model_dir, dims)
    (out_dir / TABLE).write_bytes(raw)
    (out_dir / VOCAB).write_text("\n".join(vocab) + "\n", encoding="utf-8")
    digest = hashlib.sha256
    made = {"dims": dims, "rows": len(vocab), "table_sha256": digest(raw).hexdigest(),
            "model_sha256": digest((model_dir / "model.safetensors").read_bytes()).hexdigest(),
            "vocab_sha256": digest((model_dir / "vocab.txt").read_bytes()).hexdigest()}
    (out_dir / PROVENANCE).write_text(json.dumps(made, indent=1, sort_keys=True) + "\n")
    return made
