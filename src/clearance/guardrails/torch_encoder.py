"""all-MiniLM-L6-v2 rebuilt in torch from the installed model files, with low-rank adapters: training only.

The run-time encoder is numpy (:mod:`.encoder`); this twin exists so that its weights can be
trained by gradient (:mod:`.contextual_finetune`, ``bench/guard_finetune.py``). It reads the
same ``model.safetensors`` and computes the same function (checked against
``SentenceEncoder.encode`` to about 1e-7), in batches padded to their longest sequence. torch
is imported by the caller and passed in, so that importing this module never needs it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import orjson

TRAIN_EXTRA = "pip install 'clearance[train]'"


def load_torch(purpose: str) -> Any:
    """torch on one thread with deterministic kernels, so that training gives the same bytes each
    time; an ImportError naming the extra to install where it is missing."""
    try:
        import torch
    except ImportError:
        raise ImportError(f"{purpose} needs torch: {TRAIN_EXTRA}") from None
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    return torch


def _modules(torch: Any) -> tuple[type, type, type]:
    """(the embedding block, one post-LN transformer layer, a linear map with a LoRA update) as torch modules."""
    nn = torch.nn
    functional = torch.nn.functional

    class Embeddings(nn.Module):
        def __init__(self, w: dict[str, Any], eps: float) -> None:
            super().__init__()
            self.words = nn.Parameter(w["embeddings.word_embeddings.weight"], requires_grad=False)
            # Every prompt is segment 0: its type row is folded into the position rows, as encoder.py does.
            self.positions = nn.Parameter(w["embeddings.position_embeddings.weight"]
                                          + w["embeddings.token_type_embeddings.weight"][0], requires_grad=False)
            self.ln = nn.LayerNorm(self.words.shape[1], eps=eps)
            self.ln.weight.data.copy_(w["embeddings.LayerNorm.weight"])
            self.ln.bias.data.copy_(w["embeddings.LayerNorm.bias"])
            self.ln.requires_grad_(False)

        def forward(self, ids: Any) -> Any:
            return self.ln(self.words[ids] + self.positions[: ids.shape[1]])

    class Layer(nn.Module):
        def __init__(self, w: dict[str, Any], p: str, heads: int, eps: float, dropout: float) -> None:
            super().__init__()
            h = w[p + "attention.self.query.weight"].shape[0]
            ffn = w[p + "intermediate.dense.weight"].shape[0]
            self.heads, self.d = heads, h // heads
            self.qkv = nn.Linear(h, 3 * h)
            a = p + "attention.self."
            self.qkv.weight.data.copy_(torch.cat([w[a + "query.weight"], w[a + "key.weight"], w[a + "value.weight"]]))
            self.qkv.bias.data.copy_(torch.cat([w[a + "query.bias"], w[a + "key.bias"], w[a + "value.bias"]]))
            self.out, self.up, self.down = nn.Linear(h, h), nn.Linear(h, ffn), nn.Linear(ffn, h)
            self.ln1, self.ln2 = nn.LayerNorm(h, eps=eps), nn.LayerNorm(h, eps=eps)
            for mod, name in ((self.out, "attention.output.dense"), (self.up, "intermediate.dense"),
                              (self.down, "output.dense"), (self.ln1, "attention.output.LayerNorm"),
                              (self.ln2, "output.LayerNorm")):
                mod.weight.data.copy_(w[p + name + ".weight"])
                mod.bias.data.copy_(w[p + name + ".bias"])
            self.drop = nn.Dropout(dropout)

        def forward(self, x: Any, key_bias: Any) -> Any:
            b, t, h = x.shape
            q, k, v = self.qkv(x).view(b, t, 3, self.heads, self.d).permute(2, 0, 3, 1, 4)
            scores = q @ k.transpose(-1, -2) / math.sqrt(self.d) + key_bias
            ctx = (self.drop(torch.softmax(scores, dim=-1)) @ v).transpose(1, 2).reshape(b, t, h)
            x = self.ln1(x + self.drop(self.out(ctx)))
            return self.ln2(x + self.drop(self.down(functional.gelu(self.up(x)))))

    class LowRank(nn.Module):
        """A frozen linear map plus a trainable low-rank update ``(alpha / rank) * B @ A`` per output block."""

        def __init__(self, base: Any, blocks: int, rank: int, alpha: float) -> None:
            super().__init__()
            self.base = base
            base.requires_grad_(False)
            n_in, n_out = base.in_features, base.out_features // blocks
            # A starts random and B at zero, so training starts from the base encoder; one (A, B)
            # per block, so the fused query/key/value map gets three adapters as three maps would.
            bound = 1 / math.sqrt(n_in)
            self.a = nn.ParameterList([nn.Parameter(torch.empty(rank, n_in).uniform_(-bound, bound))
                                       for _ in range(blocks)])
            self.b = nn.ParameterList([nn.Parameter(torch.zeros(n_out, rank)) for _ in range(blocks)])
            self.scale = alpha / rank

        def forward(self, x: Any) -> Any:
            delta = torch.cat([(x @ a.T) @ b.T for a, b in zip(self.a, self.b, strict=True)], -1)
            return self.base(x) + self.scale * delta

    return Embeddings, Layer, LowRank


class TorchEncoder:
    """all-MiniLM-L6-v2 in torch: embeddings, six layers, mean pooling, unit length."""

    def __init__(self, torch: Any, folder: Path, max_tokens: int, dropout: float = 0.1) -> None:
        from tokenizers import Tokenizer

        from .encoder import read_safetensors

        self.torch = torch
        config = orjson.loads((folder / "config.json").read_bytes())
        arrays, _ = read_safetensors(folder / "model.safetensors")
        w = {k.removeprefix("bert."): torch.from_numpy(np.array(v, np.float32)) for k, v in arrays.items()}
        embeddings, layer, self._low_rank = _modules(torch)
        eps = float(config["layer_norm_eps"])
        self.embeddings = embeddings(w, eps)
        self.layers = [layer(w, f"encoder.layer.{i}.", int(config["num_attention_heads"]), eps, dropout)
                       for i in range(int(config["num_hidden_layers"]))]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.no_padding()

    def ids(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=True)]

    def grid(self, seqs: list[Any]) -> tuple[Any, Any, Any]:
        """Padded [b, t] (or [b, t, h]) batch of sequences, the [b, t] mask of real tokens and the attention key bias."""
        torch = self.torch
        lengths = torch.tensor([len(s) for s in seqs])
        t = int(lengths.max())
        mask = torch.arange(t)[None, :] < lengths[:, None]
        if isinstance(seqs[0], list):
            batch = torch.zeros((len(seqs), t), dtype=torch.long)
            for i, s in enumerate(seqs):
                batch[i, : len(s)] = torch.tensor(s)
        else:
            batch = torch.zeros((len(seqs), t, seqs[0].shape[1]))
            for i, s in enumerate(seqs):
                batch[i, : len(s)] = s
        key_bias = torch.where(mask, 0.0, -1e9)[:, None, None, :]
        return batch, mask, key_bias

    def pooled(self, x: Any, mask: Any) -> Any:
        m = mask[..., None].to(x.dtype)
        mean = (x * m).sum(1) / m.sum(1)
        return mean / mean.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def run(self, x: Any, key_bias: Any, layers: list[Any]) -> Any:
        for layer in layers:
            x = layer(x, key_bias)
        return x

    def encode(self, texts: list[str], layers: list[Any] | None = None) -> np.ndarray:
        """Unit sentence embeddings through ``layers`` (default: the base encoder's), in eval mode."""
        layers = self.layers if layers is None else layers
        for layer in layers:
            layer.eval()
        with self.torch.inference_mode():
            ids, mask, key_bias = self.grid(self.ids(texts))
            return self.pooled(self.run(self.embeddings(ids), key_bias, layers), mask).numpy()

    def adapt(self, layers: list[Any], rank: int, alpha: float) -> list[Any]:
        """Wrap every linear map of ``layers`` (copies of the base layers) with a LoRA update, in place; return
        the adapter parameters, the only trainable ones."""
        for layer in layers:
            layer.requires_grad_(False)
            layer.qkv = self._low_rank(layer.qkv, 3, rank, alpha)
            layer.out, layer.up, layer.down = (self._low_rank(m, 1, rank, alpha)
                                               for m in (layer.out, layer.up, layer.down))
        return [p for layer in layers for m in (layer.qkv, layer.out, layer.up, layer.down) for p in (*m.a, *m.b)]


def adapter_tensors(layers: list[Any]) -> dict[str, np.ndarray]:
    """The adapted layers' low-rank matrices by the names :mod:`.adapter` reads (query/key/value split)."""
    out = {}
    for i, layer in enumerate(layers):
        blocks = {"query": (layer.qkv, 0), "key": (layer.qkv, 1), "value": (layer.qkv, 2), "output": (layer.out, 0),
                  "up": (layer.up, 0), "down": (layer.down, 0)}
        for name, (module, j) in blocks.items():
            out[f"layer.{i}.{name}.a"] = module.a[j].detach().numpy().copy()
            out[f"layer.{i}.{name}.b"] = module.b[j].detach().numpy().copy()
    return out
