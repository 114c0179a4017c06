"""Sentence encoder speed: the numpy forward pass, beside sentence-transformers on torch when importable.

    python bench/guard_encoder.py                     # the numpy encoder alone (clearance's venv)
    PYTHONPATH=src HF_HUB_OFFLINE=1 /path/to/venv-with-torch/bin/python bench/guard_encoder.py
                                                      # both, interleaved in one process

Everything runs on one core (threadpoolctl.threadpool_limits(1), and torch.set_num_threads(1)).
Per prompt: one text per ``encode`` call, tokenising included, at 16, 64 and 256 tokens (the
model's limit), p50 of wall and CPU time over CALLS calls, taken in alternating rounds of ROUND
calls per implementation so that load from other processes falls on both alike. Batch: BATCH
texts of 8 to 200 tokens, encoded at batch size 16 and 32, texts per second of CPU time.
The text is a fixed passage cut to the token count; there is no caching in either path.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from threadpoolctl import threadpool_limits

from clearance.guardrails.encoder import SentenceEncoder

LENGTHS = (16, 64, 256)
CALLS = 50
ROUND = 10
BATCH = 256
PASSAGE = (
    "The operator of a controlled model keeps a record of who asked for what, from where and when, and the "
    "reviewer who approves an export signs it. Requests that name a prohibited domain are refused with a "
    "reason, and the reason is written to the audit log together with the policy version that decided it. "
    "When a caller asks for an exception, the request goes to a person with the authority to grant it, who "
    "reads the prompt, the verdict and the history of the account before answering. Nothing here is sent "
    "to a third party; the gateway runs inside the operator's network and its logs stay there. ")


def _text(encoder: SentenceEncoder, tokens: int, words: list[str]) -> str:
    """A prefix of ``words`` that is ``tokens`` tokens with [CLS] and [SEP]."""
    lo, hi = 1, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(encoder.tokenizer.encode(" ".join(words[:mid])).ids) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    text = " ".join(words[:lo])
    while len(encoder.tokenizer.encode(text).ids) < tokens:  # "a" is one token: pad to the exact count
        text += " a"
    return text


def _timed(fn) -> tuple[float, float]:
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-torch", action="store_true", help="time only the numpy encoder")
    args = parser.parse_args()
    encoder = SentenceEncoder.load()
    impls = {"numpy": lambda texts, bs=16: encoder.encode(texts, batch_size=bs)}
    if not args.no_torch:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError:
            print("torch / sentence-transformers not importable here: numpy encoder only")
        else:
            torch.set_num_threads(1)
            model = SentenceTransformer(str(encoder.folder), device="cpu")
            impls["torch"] = lambda texts, bs=16: model.encode(texts, batch_size=bs, normalize_embeddings=True,
                                                               convert_to_numpy=True, show_progress_bar=False)
    words = (PASSAGE * 8).split()
    rng = random.Random(7)
    with threadpool_limits(1):
        print(f"one prompt per call, p50 of {CALLS} calls (wall ms / CPU ms), one core")
        for tokens in LENGTHS:
            text = _text(encoder, tokens, words) if tokens < 256 else " ".join(words)  # truncated to 256
            real = len(encoder.tokenizer.encode(text).ids)
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in impls}
            for fn in impls.values():
                fn([text])  # warm-up
            for _ in range(CALLS // ROUND):
                for name, fn in impls.items():
                    times[name] += [_timed(lambda fn=fn, text=text: fn([text])) for _ in range(ROUND)]
            cells = [f"{name} {statistics.median(w for w, _ in t) * 1e3:7.2f} / {statistics.median(c for _, c in t) * 1e3:7.2f}"
                     for name, t in times.items()]
            print(f"  {real:4d} tokens: " + "   ".join(cells))
        texts = [" ".join(words[s:s + rng.randint(6, 150)]) for s in (rng.randrange(200) for _ in range(BATCH))]
        lengths = [len(e.ids) for e in encoder.tokenizer.encode_batch(texts)]
        print(f"batch of {BATCH} texts, {min(lengths)}..{max(lengths)} tokens (mean {statistics.mean(lengths):.0f}): "
              f"texts/s of CPU time, best of 3 rounds")
        for bs in (16, 32):
            best: dict[str, float] = {name: 0.0 for name in impls}
            for _ in range(3):
                for name, fn in impls.items():
                    _, cpu = _timed(lambda fn=fn, bs=bs: fn(texts, bs))
                    best[name] = max(best[name], BATCH / cpu)
            print(f"  batch size {bs}: " + "   ".join(f"{name} {v:6.0f}" for name, v in best.items()))


if __name__ == "__main__":
    main()
