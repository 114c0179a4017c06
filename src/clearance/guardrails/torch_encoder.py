"""all-MiniLM-L6-v2 rebuilt in torch from the same model files as :mod:`.encoder`, for fine-tuning.

Torch is never a run-time dependency: this module takes the ``torch`` module as an argument and is
imported only by training code (``clearance[train]``) and the benches. The rebuild matches
``SentenceEncoder.encode`` to about 1e-7 (bench/guard_finetune.py checks it before every run).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import orjson


def _bert(torch: Any) -> tuple[type, type]:
    """(the embedding block, one post-LN transformer layer) as torch modules; built here because torch is optional."""
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

    return Embeddings, Layer


class Bert:
    """all-MiniLM-L6-v2 in torch: embeddings, six layers, mean pooling, unit length."""

    def __init__(self, torch: Any, folder: Path, max_tokens: int, dropout: float = 0.1) -> None:
        from tokenizers import Tokenizer

        from clearance.guardrails.encoder import read_safetensors

        self.torch = torch
        config = orjson.loads((folder / "config.json").read_bytes())
        arrays, _ = read_safetensors(folder / "model.safetensors")
        w = {k.removeprefix("bert."): torch.from_numpy(np.array(v, np.float32)) for k, v in arrays.items()}
        embeddings, layer = _bert(torch)
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

    def encode(self, texts: list[str]) -> np.ndarray:
        for layer in self.layers:
            layer.eval()
        with self.torch.inference_mode():
            ids, mask, key_bias = self.grid(self.ids(texts))
            return self.pooled(self.run(self.embeddings(ids), key_bias, self.layers), mask).numpy()
