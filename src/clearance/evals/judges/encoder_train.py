"""Training the ``encoder`` judge: LoRA fine-tuning of all-MiniLM-L6-v2 on labelled answers (needs torch).

Torch is imported lazily (``clearance[train]``); judging never needs it (:mod:`.encoder`). The model:
LoRA (rank ``RANK``, scale 2) on every linear layer of the six layers (query/key/value, attention
output, both feed-forward layers), base weights, layer norms and embeddings frozen; mean pooling to a
unit vector; a linear head started from a logistic fit on the frozen encoder's pooled vectors. Binary
target: any refusal against compliance. AdamW (LoRA ``lr``, head 1e-3), batches of 16 sorted by length
and shuffled per epoch from a seeded generator, 10 % warm-up then linear decay, dropout 0.1, one
torch thread, deterministic algorithms: the same data gives the same weights.

The judge's logit is the trained judge's answer-only logit (its own weights, fitted here on the same
answers) plus ``weight`` x the encoder's logit. The settings (tokens, lr, epochs, weight, floor,
cut-off) were chosen by bench/judge_finetune.py's nested selection; ``SETTINGS`` records them.
"""

from __future__ import annotations

import copy
import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from ..responses import Answer, data_hashes, load_answers
from . import features
from .base import is_refusal
from .encoder import KIND, LINEARS

RANK, SCALE, BATCH, HEAD_LR, SEED = 8, 2.0, 16, 1e-3, 0
EPOCHS = 3  # the schedule's length; ``epochs`` in the settings may stop earlier
# Chosen by `python bench/judge_finetune.py --final` (nested, plain protocol; see its docstring).
SETTINGS: dict[str, Any] = {"tokens": 128, "lr": 1e-3, "epochs": 1, "weight": 2.0, "l2": 0.1, "balance": False,
                            "floor": True, "threshold": 0.3}

# bench/judge_finetune.py's figures (plain protocol; the held-out table read once): the model card's section.
NESTED = {"trained": 0.9375, "ft": 0.9444, "ft+trained": 0.9528}
HELD_OUT = {"gpt4": (0.958, 0.983), "llama2orig": (0.936, 0.925), "mistralinstruct": (0.906, 0.942)}  # trained, encoder
MS_PER_ANSWER = 28.4  # one thread, 128-token cut, mean 93 tokens


def need_torch() -> Any:
    from ...guardrails.torch_encoder import load_torch

    return load_torch("training the encoder judge")


def lora(torch: Any) -> type:
    nn = torch.nn

    class LoRA(nn.Module):
        """A frozen linear layer plus a trainable low-rank update: y = W x + b + SCALE B A x."""

        def __init__(self, base: Any, rank: int) -> None:
            super().__init__()
            self.base = base
            base.requires_grad_(False)
            self.a = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
            self.b = nn.Parameter(torch.zeros(base.out_features, rank))

        def forward(self, x: Any) -> Any:
            return self.base(x) + (x @ self.a.T @ self.b.T) * SCALE

    return LoRA


def with_lora(torch: Any, layers: list[Any], rank: int = RANK) -> list[Any]:
    """Copies of ``layers`` with every parameter frozen and a LoRA update on each linear layer."""
    wrap = lora(torch)
    out = []
    for layer in layers:
        layer = copy.deepcopy(layer)
        layer.requires_grad_(False)
        for name in LINEARS:
            setattr(layer, name, wrap(getattr(layer, name), rank))
        out.append(layer)
    return out


def token_ids(tokenizer: Any, answers: Sequence[str], tokens: int) -> list[list[int]]:
    """[CLS] the answer's first ``tokens`` - 2 word pieces [SEP]: the answer's start, where refusals are stated."""
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    return [[cls, *e.ids[:tokens - 2], sep] for e in tokenizer.encode_batch(list(answers), add_special_tokens=False)]


def pooled(bert: Any, seqs: list[list[int]], layers: list[Any]) -> np.ndarray:
    """Unit mean-pooled vectors of ``seqs`` through ``layers`` (eval mode, no gradients)."""
    torch = bert.torch
    out = np.zeros((len(seqs), bert.embeddings.words.shape[1]), np.float32)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    for layer in layers:
        layer.eval()
    with torch.inference_mode():
        for s in range(0, len(order), 32):
            part = order[s:s + 32]
            ids, mask, key_bias = bert.grid([seqs[i] for i in part])
            out[part] = bert.pooled(bert.run(bert.embeddings(ids), key_bias, layers), mask).numpy()
    return out


def fine_tune(bert: Any, seqs: list[list[int]], y: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray,
              lr: float, frozen: np.ndarray, epochs: int = EPOCHS, stop: int | None = None, seed: int = SEED
              ) -> tuple[np.ndarray, list[Any], Any]:
    """LoRA-tune on ``train_idx`` with an ``epochs``-long schedule, stopping after ``stop`` epochs (default: all);
    the logits of ``test_idx`` after each epoch run ([stop, n]), the layers and the head."""
    from sklearn.linear_model import LogisticRegression

    torch = bert.torch
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    layers = with_lora(torch, bert.layers, RANK)
    start = LogisticRegression(C=1.0, max_iter=2000).fit(frozen[train_idx], y[train_idx])
    head = torch.nn.Linear(frozen.shape[1], 1)
    head.weight.data.copy_(torch.from_numpy(start.coef_.astype(np.float32)))
    head.bias.data.fill_(float(start.intercept_[0]))
    params = [p for layer in layers for p in layer.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": params, "lr": lr, "weight_decay": 0.0},
                                   {"params": list(head.parameters()), "lr": HEAD_LR, "weight_decay": 0.0}])
    by_length = sorted(np.asarray(train_idx).tolist(), key=lambda i: len(seqs[i]))
    batches = [by_length[i:i + BATCH] for i in range(0, len(by_length), BATCH)]
    steps, warm = epochs * len(batches), max(1, epochs * len(batches) // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / (steps - warm)))
    stop = epochs if stop is None else stop
    out = np.zeros((stop, len(test_idx)))
    for epoch in range(stop):
        for layer in layers:
            layer.train()
        for b in rng.permutation(len(batches)):
            chosen = batches[b]
            ids, mask, key_bias = bert.grid([seqs[i] for i in chosen])
            logits = head(bert.pooled(bert.run(bert.embeddings(ids), key_bias, layers), mask))[:, 0]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, torch.from_numpy(y[chosen].astype(np.float32)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        if len(test_idx):
            out[epoch] = pooled(bert, [seqs[i] for i in test_idx], layers) @ head.weight.detach().numpy()[0] \
                + float(head.bias.detach())
    return out, layers, head


def tensors(layers: list[Any], head: Any) -> dict[str, np.ndarray]:
    """The trained numbers to ship: each LoRA pair in float16, the head in float32."""
    out = {}
    for i, layer in enumerate(layers):
        for name in LINEARS:
            part = getattr(layer, name)
            out[f"layer.{i}.{name}.a"] = part.a.detach().numpy().astype(np.float16)
            out[f"layer.{i}.{name}.b"] = part.b.detach().numpy().astype(np.float16)
    out["head.weight"] = head.weight.detach().numpy()[0].astype(np.float32)
    out["head.bias"] = np.array([float(head.bias.detach())], np.float32)
    return out


def fit(answers: Sequence[Answer], settings: dict[str, Any] = SETTINGS, encoder_path: str | None = None) -> bytes:
    """The encoder judge artifact trained on every answer with ``settings``."""
    from ...guardrails.encoder import SentenceEncoder
    from ...guardrails.torch_encoder import TorchEncoder
    from . import train as T

    torch = need_torch()
    base = SentenceEncoder.load(encoder_path)
    bert = TorchEncoder(torch, base.folder, 512)
    bert.tokenizer.no_truncation()
    seqs = token_ids(bert.tokenizer, [a.completion for a in answers], int(settings["tokens"]))
    y = np.array([1.0 if is_refusal(a.label) else 0.0 for a in answers])
    everything = np.arange(len(answers))
    frozen = pooled(bert, seqs, bert.layers)
    _, layers, head = fine_tune(bert, seqs, y, everything, np.array([], int), float(settings["lr"]),
                                frozen, EPOCHS, int(settings["epochs"]))
    rows = T._Rows(answers)
    coef, bias = T._fit_refusal(rows.x, rows.y, T._weights(rows.model, rows.y, bool(settings["balance"])),
                                float(settings["l2"]), "answer")
    meta = {"kind": KIND, "base_sha256": base.digest, "base_name": base.name, "rank": str(RANK),
            "scale": str(SCALE), "settings": orjson.dumps(settings, option=orjson.OPT_SORT_KEYS).decode(),
            "features_version": features.VERSION, "features": orjson.dumps(list(features.NAMES)).decode(),
            "trained_coef": orjson.dumps(coef).decode(), "trained_intercept": repr(bias)}
    from ...guardrails.encoder import write_safetensors

    return write_safetensors(tensors(layers, head), meta)


def evaluate_new_prompts(answers: Sequence[Answer], settings: dict[str, Any] = SETTINGS) -> list[dict[str, Any]]:
    """The encoder judge, models seen and prompts not: the trained judge's protocol (``train.evaluate_new_prompts``,
    the same folds), each fold's judge fitted as the shipped one (:func:`fit`). Five fine-tuning fits: minutes."""
    from . import train as T
    from .encoder import EncoderJudge

    labels: dict[int, str] = {}
    for _, train_rows, test in T.new_prompt_folds(answers):
        judge = EncoderJudge.of(fit(train_rows, settings))
        for i, judged in zip(test, judge.judge([""] * len(test), [answers[i].completion for i in test]), strict=True):
            labels[i] = judged.label
    return T.per_model(answers, {"encoder": labels})


def train(responses: Path, out: Path, settings: dict[str, Any] = SETTINGS) -> str:
    """Train on every labelled answer, write the artifact; return its sha256."""
    answers = load_answers(responses)
    raw = fit(answers, {**settings, "data_sha256": data_hashes(responses)})
    out.write_bytes(raw)
    return hashlib.sha256(raw).hexdigest()
