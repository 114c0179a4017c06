"""The contextual head: fitted on the development part only, and the shipped one is what its data fits."""

from __future__ import annotations

import hashlib

import numpy as np
import orjson
import pytest

from clearance.guardrails import contextual_train, corpus
from clearance.guardrails.contextual import ContextualPromptGuard, default_head
from clearance.guardrails.model import GuardModelError, TrainedPromptGuard, default_artifact
from float_rounding import assert_reproduces
from needs import missing


@pytest.fixture(scope="module")
def encoder():  # noqa: ANN201
    from clearance.guardrails.encoder import EncoderUnavailable, load_encoder

    try:
        return load_encoder()
    except EncoderUnavailable as exc:
        missing("encoder", str(exc))


def test_the_shipped_head_is_what_the_development_part_fits(guard_data, encoder, monkeypatch):
    raw = default_artifact().read_bytes()
    artifact = orjson.loads(raw)
    base = TrainedPromptGuard(artifact, hashlib.sha256(raw).hexdigest())
    dev, test = corpus.split(corpus.load(guard_data))
    read: list[str] = []
    encode_layers = encoder.encode_layers

    def watched(texts, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        read.extend(texts)
        return encode_layers(texts, *args, **kwargs)

    monkeypatch.setattr(encoder, "encode_layers", watched)
    again = contextual_train.fit_head(dev, encoder, artifact, base)
    shipped = orjson.loads(default_head().read_bytes())
    # Fitting reads development rows only: no held-out or Alpaca text reaches the encoder.
    held_out = {contextual_train.features.read(e.text).text for e in test}
    assert not held_out & set(read) - {contextual_train.features.read(e.text).text for e in dev}
    assert len(read) == len(corpus.trainable(dev))
    for key in ("kind", "base_guard", "encoder", "poolings", "hyperparameters"):
        assert again[key] == shipped[key], key
    fitted = {k: v for k, v in shipped.items() if k not in ("training_data", "held_out")}
    if again["embeddings_sha256"] == shipped["embeddings_sha256"]:
        # The same embeddings (this CPU's arithmetic): the same network, up to the rounding of its decimals.
        assert_reproduces(again, fitted, unit=10.0 ** -contextual_train.ROUND, most=20)
        return
    # Embeddings 1e-7 apart (another CPU's BLAS) send adam elsewhere, as another seed would: the same
    # choices, and a head that reads the development rows as the shipped one does.
    rows = corpus.trainable(dev)
    x = encoder.encode_layers([contextual_train.features.read(e.text).text for e in rows], contextual_train.POOLINGS)

    def logits(h: dict) -> np.ndarray:
        head = (np.asarray(h["hidden"]["weights"]), np.asarray(h["hidden"]["bias"]), np.asarray(h["coef"]), h["bias"])
        return contextual_train._logits(head, x)

    a, b = logits(again), logits(shipped)
    # Two fits on embeddings perturbed by 1e-7 noise gave correlations of 0.99988 and 0.99998, no sign apart.
    assert np.corrcoef(a, b)[0, 1] > 0.995
    assert np.mean((a > 0) == (b > 0)) > 0.99
    assert abs(again["out_of_fold_recall"] - shipped["out_of_fold_recall"]) < 0.02


def test_a_head_naming_a_pooling_the_encoder_lacks_is_refused(encoder):
    raw = default_artifact().read_bytes()
    base = TrainedPromptGuard(orjson.loads(raw), hashlib.sha256(raw).hexdigest())
    shipped = orjson.loads(default_head().read_bytes())
    with pytest.raises(GuardModelError, match="poolings: unknown pooling 'mean:9'"):
        ContextualPromptGuard(base, {**shipped, "poolings": ["mean:6", "mean:9"]}, "0" * 64, encoder)
    with pytest.raises(GuardModelError, match="do not fit"):
        ContextualPromptGuard(base, {**shipped, "poolings": ["mean:6"]}, "0" * 64, encoder)
