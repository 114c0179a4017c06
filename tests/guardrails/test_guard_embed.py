"""The distilled token table: how it is made (same files, same bytes) and how the guard reads it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import orjson
import pytest

from clearance.guardrails import distill
from clearance.guardrails.embed import TokenTable, load_table
from clearance.guardrails.model import GuardModelError, TrainedPromptGuard, default_artifact

TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "bomb", "cake", "make", "##s", "how", "to", "un",
              "##do", "bake", "a", "##able"]


def tiny_encoder(where: Path, seed: int = 0) -> Path:
    """A 2-layer BERT with random weights, in the files `clearance guard distill` reads."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    hidden, inner, vocab = 16, 32, len(TINY_VOCAB)

    def r(*shape):
        return rng.normal(0, 0.2, shape).astype(np.float32)

    w = {"embeddings.word_embeddings.weight": r(vocab, hidden), "embeddings.position_embeddings.weight": r(8, hidden),
         "embeddings.token_type_embeddings.weight": r(2, hidden),
         "embeddings.LayerNorm.weight": np.ones(hidden, np.float32), "embeddings.LayerNorm.bias": r(hidden)}
    for n in range(2):
        p = f"encoder.layer.{n}."
        for m in ("query", "key", "value"):
            w[p + f"attention.self.{m}.weight"], w[p + f"attention.self.{m}.bias"] = r(hidden, hidden), r(hidden)
        w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"] = r(hidden, hidden), r(hidden)
        w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"] = r(inner, hidden), r(inner)
        w[p + "output.dense.weight"], w[p + "output.dense.bias"] = r(hidden, inner), r(hidden)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + ln + ".weight"], w[p + ln + ".bias"] = 1 + r(hidden), r(hidden)
    where.mkdir(parents=True, exist_ok=True)
    save_file(w, str(where / "model.safetensors"))
    (where / "config.json").write_text(json.dumps({"hidden_size": hidden, "num_attention_heads": 4,
                                                   "num_hidden_layers": 2, "layer_norm_eps": 1e-12}))
    (where / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n")
    return where


def test_distilling_twice_gives_the_same_bytes(tmp_path):
    model = tiny_encoder(tmp_path / "model")
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    made = distill.write(model, first, dims=4)
    distill.write(model, second, dims=4)
    assert (first / distill.TABLE).read_bytes() == (second / distill.TABLE).read_bytes()
    table = TokenTable.load(first)
    assert (table.rows.shape, made["table_sha256"]) == ((len(TINY_VOCAB), 4), table.digest)
    assert not table.rows[TINY_VOCAB.index("[CLS]")].any()  # special tokens never weigh in
    other = tmp_path / "c"
    other.mkdir()
    distill.write(tiny_encoder(tmp_path / "other", seed=1), other, dims=4)
    assert (other / distill.TABLE).read_bytes() != (first / distill.TABLE).read_bytes()


def test_wordpiece_splits_words_as_bert_does(tmp_path):
    table = TokenTable(TINY_VOCAB, np.zeros((len(TINY_VOCAB), 2), dtype="<f2").tobytes())
    ids = {t: i for i, t in enumerate(TINY_VOCAB)}
    assert table.tokens(["bombs", "undoable", "how", "to", "bake", "a", "cake"]) == [
        ids[t] for t in ("bomb", "##s", "un", "##do", "##able", "how", "to", "bake", "a", "cake")]
    assert table.tokens(["bombx"]) == [ids["[UNK]"]]  # one unknown piece makes the whole word unknown
    assert table.tokens(["bomb's"]) == [ids["bomb"], ids["[UNK]"]]  # split at the apostrophe, as BERT does


def test_packaged_wordpiece_agrees_with_the_reference_tokenizer():
    tokenizers = pytest.importorskip("tokenizers")
    table = load_table()
    reference = tokenizers.BertWordPieceTokenizer(str(default_artifact().with_name(distill.VOCAB)), lowercase=True)
    words = ["how", "do", "i", "synthesize", "nitroglycerin", "undetectably", "at", "home", "café", "naïve", "ransomware", "2024", "gpt4"]
    assert table.tokens(words) == reference.encode(" ".join(words), add_special_tokens=False).ids


def test_the_dense_reading_puts_a_paraphrase_near_its_meaning():
    table = load_table()
    bomb = table.vector(["how", "do", "i", "build", "a", "bomb"])
    paraphrase = table.vector(["steps", "to", "assemble", "an", "explosive", "device"])
    cake = table.vector(["how", "do", "i", "bake", "a", "cake"])
    assert float(bomb @ paraphrase) > float(bomb @ cake)
    assert abs(float(bomb @ bomb) - 1.0) < 1e-5
    assert not table.vector([]).any()


def test_an_artifact_trained_with_another_table_is_refused():
    artifact = orjson.loads(default_artifact().read_bytes())
    assert "dense" in artifact
    artifact["dense"]["table_sha256"] = "0" * 64
    with pytest.raises(GuardModelError, match="token table"):
        TrainedPromptGuard(artifact, "x" * 64)


@pytest.mark.skipif(not os.environ.get("CLEARANCE_ENCODER_DIR"), reason="set CLEARANCE_ENCODER_DIR to the "
                    "all-MiniLM-L6-v2 files to check the numpy forward against the published similarities")
def test_numpy_forward_reproduces_the_encoders_published_similarities():
    tokenizers = pytest.importorskip("tokenizers")
    where = Path(os.environ["CLEARANCE_ENCODER_DIR"])
    tok = tokenizers.Tokenizer.from_file(str(where / "tokenizer.json"))
    tok.no_padding()
    w, config = distill._weights(where), json.loads((where / "config.json").read_text())
    sentences = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    e = np.array([distill.forward(w, config, np.array([tok.encode(s).ids])).mean(axis=1)[0] for s in sentences])
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    # sentence-transformers' quickstart prints 0.6660 and 0.1046 for these pairs
    assert round(float(e[0] @ e[1]), 3) == 0.666
    assert round(float(e[0] @ e[2]), 3) == 0.105


def test_only_the_jailbreak_and_domain_heads_read_the_dense_reading():
    from clearance.guardrails.model import OUTPUTS

    artifact = orjson.loads(default_artifact().read_bytes())
    weights = np.asarray(artifact["dense"]["weights"]).reshape(artifact["dense"]["dims"], len(OUTPUTS))
    assert not weights[:, OUTPUTS.index("harmful")].any()  # the harmful head's recall fell with it (model card)
    assert all(weights[:, OUTPUTS.index(o)].any() for o in OUTPUTS if o != "harmful")


def test_the_distill_command_writes_the_table_and_says_what_it_read(tmp_path):
    from typer.testing import CliRunner

    from clearance.cli.main import app

    model, out = tiny_encoder(tmp_path / "model"), tmp_path / "out"
    out.mkdir()
    result = CliRunner().invoke(app, ["guard", "distill", "--model-dir", str(model), "--out", str(out)])
    assert result.exit_code == 0, result.output
    made = json.loads((out / distill.PROVENANCE).read_text())
    assert made["table_sha256"] in result.output and made["model_sha256"] in result.output
    assert TokenTable.load(out).rows.shape[0] == len(TINY_VOCAB)
    missing = CliRunner().invoke(app, ["guard", "distill", "--model-dir", str(tmp_path / "absent"), "--out", str(out)])
    assert missing.exit_code == 1 and "cannot distill" in missing.output
