"""The contextual head: fitted on the development part only, and the shipped one is what its data fits."""

from __future__ import annotations

import hashlib

import numpy as np
import orjson
import pytest

from clearance.guardrails import contextual_train, corpus
from clearance.guardrails.contextual import default_head
from clearance.guardrails.model import TrainedPromptGuard, default_artifact
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
    encode = encoder.encode

    def watched(texts, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        read.extend(texts)
        return encode(texts, *args, **kwargs)

    monkeypatch.setattr(encoder, "encode", watched)
    again = contextual_train.fit_head(dev, encoder, artifact, base)
    shipped = orjson.loads(default_head().read_bytes())
    # The same choices; the same numbers up to the fit's conditioning: embeddings that differ by
    # 1e-7 (another CPU's BLAS) move the optimum's coefficients by about 2e-5.
    for key in ("kind", "base_guard", "encoder", "weight", "hyperparameters"):
        assert again[key] == shipped[key], key
    coef, shipped_coef = np.asarray(again["coef"]), np.asarray(shipped["coef"])
    assert np.abs(coef - shipped_coef).max() < 1e-3
    assert float(coef @ shipped_coef) / float(np.linalg.norm(coef) * np.linalg.norm(shipped_coef)) > 0.99999
    assert abs(again["bias"] - shipped["bias"]) < 1e-3 and abs(again["threshold"] - shipped["threshold"]) < 1e-3
    # Fitting reads development rows only: no held-out or Alpaca text reaches the encoder.
    held_out = {contextual_train.features.read(e.text).text for e in test}
    assert not held_out & set(read) - {contextual_train.features.read(e.text).text for e in dev}
    assert len(read) == len(corpus.trainable(dev))
