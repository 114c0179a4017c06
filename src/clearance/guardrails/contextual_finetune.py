"""Training the contextual reading: a low-rank adapter of the sentence encoder and its head (needs torch).

``clearance guard train-contextual`` (``pip install 'clearance[train]'``). The encoder
(all-MiniLM-L6-v2, rebuilt in torch by :mod:`.torch_encoder`) is trained as the harmful head:
harmful and prohibited-domain development rows 1, clean and care rows 0 (jailbreak rows left
out: the lexical jailbreak head stands), classes balanced, each prompt read as the guard reads
it (its normalized window, cut at the encoder's 256 tokens). Its weights stay frozen; a LoRA
update of rank ``RANK`` on every linear map of the six layers is learned (:mod:`.adapter`),
with a linear head on the mean-pooled unit embedding started from the frozen encoder's logistic
head. Out of fold on the development part this did better than fine-tuning the whole encoder
(``bench/guard_finetune.py``: 0.801 against 0.769 summed with the lexical logit at the 2 % cut),
in a file of 669 KB instead of 21 MB.

Chosen as :mod:`.contextual_train` chooses: in the lexical guard's five folds each development
row's encoder logit comes from an adapter and head trained without its fold, and
:func:`.contextual_train.choose` picks the weight of that logit against the lexical harmful
logit and the lowest threshold within the 2 % budget on ordinary benign development prompts.
The adapter and head shipped are then trained on the whole development part. Alpaca is never
read; the held-out part is measured once, afterwards.

Same inputs, same bytes: one torch thread, deterministic algorithms, fixed seeds, a fixed
number of steps. The adapter's matrices are rounded to float16 (what is shipped) before the
shipped head's logits are computed.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from . import corpus, features, torch_encoder
from . import train as lexical
from .adapter import FORMAT, to_bytes
from .contextual import ADAPTER, KIND
from .contextual_train import (
    JAILBREAK_C,
    ROUND,
    WEIGHTS,
    choose,
    choose_jailbreak,
    harmful_rows,
    jailbreak_labels,
    jailbreak_out_of_fold,
    logistic,
)
from .corpus import Example
from .model import GuardModelError, TrainedPromptGuard
from .torch_encoder import TorchEncoder, adapter_tensors

RANK = 8
ALPHA = 16.0  # the update's scale alpha / rank = 2
EPOCHS = 3
BATCH = 16
ADAPTER_LR = 2e-3
HEAD_LR = 1e-3
WARMUP = 0.1  # of the steps, then linear decay to 0
DROPOUT = 0.1
LOGISTIC_C = 3.0  # the frozen encoder's logistic head that the trained head starts from
SEED = 0


def load_torch() -> Any:
    """torch as :func:`.torch_encoder.load_torch` gives it, or a GuardModelError naming the install."""
    try:
        return torch_encoder.load_torch("training the contextual reading")
    except ImportError as exc:
        raise GuardModelError(str(exc)) from None


def _logistic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """The frozen encoder's logistic head: where the trained head starts."""
    return logistic(x, y, LOGISTIC_C)


class Trained:
    """An adapted copy of the encoder's layers and its linear head."""

    def __init__(self, model: TorchEncoder, init: tuple[np.ndarray, float], seed: int) -> None:
        torch = model.torch
        torch.manual_seed(seed)
        self.model = model
        self.layers = [copy.deepcopy(layer) for layer in model.layers]
        self.adapters = model.adapt(self.layers, RANK, ALPHA)
        self.head = torch.nn.Linear(len(init[0]), 1)
        self.head.weight.data.copy_(torch.from_numpy(init[0].astype(np.float32))[None, :])
        self.head.bias.data.fill_(float(init[1]))

    def fit(self, seqs: Sequence[list[int]], y: np.ndarray, idx: np.ndarray, seed: int, epochs: int = EPOCHS) -> None:
        """AdamW on the adapters and the head, batches of similar length in a seeded order each epoch."""
        torch = self.model.torch
        rng = np.random.default_rng(seed)
        optimizer = torch.optim.AdamW([{"params": self.adapters, "lr": ADAPTER_LR, "weight_decay": 0.0},
                                       {"params": list(self.head.parameters()), "lr": HEAD_LR, "weight_decay": 0.0}])
        by_length = sorted(idx, key=lambda i: (len(seqs[i]), i))
        batches = [by_length[i:i + BATCH] for i in range(0, len(by_length), BATCH)]
        steps = epochs * len(batches)
        warm = max(1, int(steps * WARMUP))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / max(1, steps - warm)))
        positives = float(y[idx].mean())
        class_weight = torch.tensor([0.5 / (1 - positives), 0.5 / positives])
        for layer in self.layers:
            layer.train()
        embeddings = self.model.embeddings
        for _ in range(epochs):
            for b in rng.permutation(len(batches)):
                chosen = batches[b]
                ids, mask, key_bias = self.model.grid([seqs[i] for i in chosen])
                pooled = self.model.pooled(self.model.run(embeddings(ids), key_bias, self.layers), mask)
                target = torch.from_numpy(y[chosen].astype(np.float32))
                loss = (torch.nn.functional.binary_cross_entropy_with_logits(self.head(pooled)[:, 0], target,
                                                                             reduction="none")
                        * class_weight[target.long()]).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
        # What ships is float16: every logit from here on is the shipped adapter's.
        with torch.no_grad():
            for p in self.adapters:
                p.copy_(p.half().float())

    def logits(self, seqs: Sequence[list[int]], idx: np.ndarray) -> np.ndarray:
        torch = self.model.torch
        out = np.zeros(len(idx))
        for layer in self.layers:
            layer.eval()
        with torch.inference_mode():
            order = sorted(range(len(idx)), key=lambda j: len(seqs[idx[j]]))
            for s in range(0, len(order), 64):
                part = order[s:s + 64]
                ids, mask, key_bias = self.model.grid([seqs[idx[j]] for j in part])
                pooled = self.model.pooled(self.model.run(self.model.embeddings(ids), key_bias, self.layers), mask)
                out[part] = self.head(pooled)[:, 0].numpy()
        return out


def inputs_digest(seqs: Sequence[list[int]], y: np.ndarray, mask: np.ndarray) -> str:
    """sha256 of what the shipped adapter was trained on: each row's token ids and label, in order."""
    h = hashlib.sha256()
    for i in np.flatnonzero(mask):
        h.update(np.asarray(seqs[i], "<i4").tobytes() + bytes([int(y[i])]) + b"\n")
    return h.hexdigest()


def _frozen(encoder: Any, texts: Sequence[str], mask: np.ndarray) -> np.ndarray:
    """The frozen encoder's embeddings of the rows a head is trained on (its starting point); zeros elsewhere."""
    keep = np.flatnonzero(mask)
    x = np.zeros((len(texts), encoder.hidden), dtype=np.float32)
    x[keep] = encoder.encode([texts[i] for i in keep])
    return x


def _kept(path: Path | None, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """``compute()``, read from ``path`` where an earlier run kept it there, else kept there for the next."""
    if path is not None and path.exists():
        return np.load(path)
    value = compute()
    if path is not None:
        np.save(path, value)
    return value


def _adapted(encoder: Any, raw: bytes) -> Any:
    """The numpy encoder with an adapter's bytes merged in: what the shipped reading runs."""
    from .adapter import Adapter

    return Adapter(Path(ADAPTER), encoder, raw).apply(encoder)


def _settings(torch: Any, encoder: Any) -> bytes:
    """Everything besides the rows that decides what a fit gives: part of a cache key."""
    return repr((RANK, ALPHA, EPOCHS, BATCH, ADAPTER_LR, HEAD_LR, WARMUP, DROPOUT, LOGISTIC_C, SEED,
                 torch.__version__, encoder.digest, encoder.max_tokens)).encode()


def _oof_key(torch: Any, encoder: Any, seqs: Sequence[list[int]], y: np.ndarray, mask: np.ndarray,
             folds: list[tuple[np.ndarray, np.ndarray]]) -> str:
    h = hashlib.sha256(_settings(torch, encoder))
    h.update(inputs_digest(seqs, y, mask).encode() + inputs_digest(seqs, y, np.ones(len(seqs), dtype=bool)).encode())
    for _, test_idx in folds:
        h.update(np.asarray(test_idx, "<i8").tobytes() + b"|")
    return h.hexdigest()


def fit(dev: Sequence[Example], encoder: Any, base_artifact: dict[str, Any], base: TrainedPromptGuard,
        cache: Path | None = None) -> tuple[dict[str, Any], bytes]:
    """(the head, the adapter's bytes) from the development part: the out-of-fold choice, then the shipped fit.

    The fold fits and the shipped fit depend on the rows, the folds and the settings, not on the
    lexical guard: with ``cache``, each is kept there under a digest of what it depends on, so a
    retrained lexical guard is re-read in context without refitting the encoder (an hour on one core)."""
    from threadpoolctl import threadpool_limits

    torch = load_torch()
    model = TorchEncoder(torch, encoder.folder, encoder.max_tokens, DROPOUT)
    rows = corpus.trainable(dev)
    texts = [features.read(e.text).text for e in rows]
    seqs = model.ids(texts)
    mask, y = harmful_rows(rows)
    folds = lexical.folds(rows)
    oof_file = final_file = vectors_file = None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        oof_file = cache / f"oof-{_oof_key(torch, encoder, seqs, y, mask, folds)}.npy"
        final_key = hashlib.sha256(_settings(torch, encoder) + inputs_digest(seqs, y, mask).encode()).hexdigest()
        final_file = cache / f"final-{final_key}.json"
        every = inputs_digest(seqs, y, np.ones(len(seqs), dtype=bool))  # every row is read, not only mask's
        vectors_file = cache / f"vectors-{hashlib.sha256((final_file.stem + every).encode()).hexdigest()}.npy"
    # The frozen encoder's embeddings: computed once, and only when a fit is not in the cache.
    frozen = functools.cache(lambda: _frozen(encoder, texts, mask))

    def fold_logits() -> np.ndarray:
        # Every row's encoder logit from an adapter and head trained without its fold (jailbreak rows
        # and the users' requests are scored too: the choice counts them), in the lexical guard's folds.
        x, out = frozen(), np.zeros(len(rows))
        for f, (train_idx, test_idx) in enumerate(folds):
            part = train_idx[mask[train_idx]]
            trained = Trained(model, _logistic(x[part], y[part]), SEED + f)
            trained.fit(seqs, y, part, SEED + f)
            out[test_idx] = trained.logits(seqs, test_idx)
        return out

    def shipped_fit() -> tuple[bytes, list[float], float]:
        everything = np.flatnonzero(mask)
        x = frozen()
        trained = Trained(model, _logistic(x[everything], y[everything]), SEED)
        trained.fit(seqs, y, everything, SEED)
        meta = {"format": FORMAT, "encoder_sha256": encoder.digest, "rank": str(RANK), "alpha": f"{ALPHA:g}"}
        return (to_bytes(adapter_tensors(trained.layers), meta),
                [round(float(v), ROUND) for v in trained.head.weight.detach().numpy()[0]],
                round(float(trained.head.bias.detach().numpy()[0]), ROUND))

    with threadpool_limits(limits=1):
        found = lexical.featurize([e.text for e in rows])
        lexical_scores, _ = lexical.out_of_fold(rows, found, float(base_artifact["hyperparameters"]["C"]))
        oof = _kept(oof_file, fold_logits)
        if final_file is not None and final_file.exists():
            kept = orjson.loads(final_file.read_bytes())
            raw, coef, bias = final_file.with_suffix(".safetensors").read_bytes(), kept["coef"], kept["bias"]
        else:
            raw, coef, bias = shipped_fit()
            if final_file is not None:
                final_file.with_suffix(".safetensors").write_bytes(raw)
                final_file.write_bytes(orjson.dumps({"coef": coef, "bias": bias}))
        # The jailbreak head reads the shipped adapter's pass (the adapter never saw a jailbreak or a user's row).
        vectors = _kept(vectors_file, lambda: _adapted(encoder, raw).encode(texts))
        jailbreak_oof = jailbreak_out_of_fold(rows, vectors)
        jb_weight, jb_threshold, jb_found, flags = choose_jailbreak(
            rows, lexical_scores["jailbreak"], base.thresholds["jailbreak"], jailbreak_oof)
        _, weight, threshold, recall = choose(rows, lexical_scores, base.thresholds, {float(RANK): oof}, flags)
        jb_coef, jb_bias = logistic(vectors, jailbreak_labels(rows), JAILBREAK_C)
    head = {
        "kind": KIND,
        "base_guard": base.version,
        "encoder": {"name": encoder.name, "sha256": encoder.digest},
        "adapter": {"file": ADAPTER, "sha256": hashlib.sha256(raw).hexdigest(), "rank": RANK, "alpha": ALPHA,
                    "bytes": len(raw)},
        "poolings": ["mean:6"],
        "coef": coef,
        "bias": bias,
        "weight": weight,
        "threshold": threshold,
        "jailbreak": {"coef": [round(float(v), ROUND) for v in jb_coef], "bias": round(jb_bias, ROUND),
                      "weight": jb_weight, "threshold": jb_threshold, "C": JAILBREAK_C,
                      "out_of_fold_detection": round(jb_found, 4)},
        "hyperparameters": {"model": "lora", "rank": RANK, "alpha": ALPHA, "maps": "query key value output up down",
                            "epochs": EPOCHS, "batch": BATCH, "adapter_lr": ADAPTER_LR, "head_lr": HEAD_LR,
                            "warmup": WARMUP, "dropout": DROPOUT, "head_start": f"logistic C={LOGISTIC_C:g}",
                            "seed": SEED, "class_weight": "balanced", "max_tokens": encoder.max_tokens,
                            "weights": list(WEIGHTS), "folds": lexical.FOLDS,
                            "fpr_target": lexical.FPR_TARGET["any"], "source_cap": lexical.SOURCE_CAP,
                            "torch": torch.__version__.split("+")[0],
                            "threads": 1, "deterministic": True},
        "training_inputs_sha256": inputs_digest(seqs, y, mask),
        "out_of_fold_recall": round(recall, 4),
    }
    return head, raw


def train_head(data: Path, out: Path, encoder: Any, card: Path | None = None,
               users: Path | None = None, cache: Path | None = None) -> dict[str, Any]:
    """Train on the development part, measure the contextual reading on the held-out part, write head, adapter, card."""
    from .contextual import ContextualPromptGuard
    from .model import default_artifact
    from .quality import held_out_report
    from .report import contextual_card

    base_raw = default_artifact().read_bytes()
    base_artifact = orjson.loads(base_raw)
    base = TrainedPromptGuard(base_artifact, hashlib.sha256(base_raw).hexdigest())
    dev, test = corpus.split(corpus.load(data, users=users))
    head, adapter = fit(dev, encoder, base_artifact, base, cache)
    head["training_data"] = {"sha256": lexical.data_hashes(data, users),
                             "split": {"seed": corpus.SEED, "test_share": corpus.TEST_SHARE}}
    out.with_name(ADAPTER).write_bytes(adapter)
    guard = ContextualPromptGuard(base, head, hashlib.sha256(lexical.to_bytes(head)).hexdigest(), encoder,
                                  out.parent)
    head["held_out"] = {"contextual": held_out_report(guard, test), "lexical": held_out_report(base, test)}
    raw = lexical.to_bytes(head)
    out.write_bytes(raw)
    if card is not None:
        card.write_text(contextual_card(head, hashlib.sha256(raw).hexdigest()))
    return head
