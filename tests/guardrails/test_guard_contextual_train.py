"""The shipped contextual head names what it reads, and one that names what the encoder cannot give is refused."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from clearance.guardrails.contextual import ContextualPromptGuard, default_head
from clearance.guardrails.model import GuardModelError, TrainedPromptGuard, default_artifact


def test_a_head_naming_a_pooling_the_encoder_lacks_is_refused(encoder):
    raw = default_artifact().read_bytes()
    base = TrainedPromptGuard(orjson.loads(raw), hashlib.sha256(raw).hexdigest())
    shipped = orjson.loads(default_head().read_bytes())
    with pytest.raises(GuardModelError, match="poolings: unknown pooling 'mean:9'"):
        ContextualPromptGuard(base, {**shipped, "poolings": ["mean:6", "mean:9"]}, "0" * 64, encoder)
    # Two poolings are 768 numbers; the shipped head reads the 384 of the sentence embedding.
    with pytest.raises(GuardModelError, match="coef has \\[384\\] numbers, the encoder gives 768"):
        ContextualPromptGuard(base, {**shipped, "poolings": ["mean:6", "mean:3"]}, "0" * 64, encoder)


def test_the_contextual_choice_keeps_every_benign_source_within_its_budget():
    import numpy as np

    from clearance.guardrails import contextual_train, corpus
    from clearance.guardrails import train as lexical
    from clearance.guardrails.contextual import combine
    from clearance.guardrails.corpus import Example

    rng = np.random.default_rng(3)
    rows = ([Example("jbb-benign", f"t{i}", "x", "clean", None, "") for i in range(300)]
            + [Example(corpus.USERS, f"u{i}", "x", "clean", None, "user-prompt") for i in range(2000)]
            + [Example("advbench", f"h{i}", "x", "harmful", None, "") for i in range(500)])
    n = len(rows)
    lexical_scores = {"harmful": rng.uniform(0.05, 0.95, n), "jailbreak": rng.uniform(0, 0.5, n),
                      "domain": rng.uniform(0, 0.4, n)}
    encoded = rng.normal(0, 1, n)
    encoded[:300] += 1.5  # the twins read as harmful more often than the users' requests
    encoded[2300:] += 2.5
    cut = {"jailbreak": 0.5, "prohibited-domain": 0.5, "harmful": 0.9}
    setting, weight, threshold, recall = contextual_train.choose(rows, lexical_scores, cut, {0.0: encoded})
    q = np.array([combine(float(p), float(e), weight) for p, e in zip(lexical_scores["harmful"], encoded, strict=True)])
    flagged = (q >= threshold) | (lexical_scores["jailbreak"] >= cut["jailbreak"]) | (
        lexical_scores["domain"] >= cut["prohibited-domain"])
    sources = lexical.benign_sources(rows)
    for name, mask in sources.items():
        assert flagged[mask].mean() <= lexical.SOURCE_CAP, name
    assert flagged[np.any(list(sources.values()), axis=0)].mean() <= lexical.FPR_TARGET["any"]
    assert weight in contextual_train.WEIGHTS and 0 < recall < 1


def test_the_jailbreak_head_is_chosen_within_the_jailbreak_budget_on_every_source():
    import numpy as np

    from clearance.guardrails import contextual_train, corpus
    from clearance.guardrails import train as lexical
    from clearance.guardrails.contextual import combine
    from clearance.guardrails.corpus import Example

    rng = np.random.default_rng(5)
    rows = ([Example("jbb-benign", f"t{i}", "x", "clean", None, "") for i in range(300)]
            + [Example(corpus.USERS, f"u{i}", "x", "clean", None, "user-prompt") for i in range(2000)]
            + [Example("inthewild", f"j{i}", "x", "jailbreak", None, "") for i in range(300)])
    lexical_jb = rng.uniform(0.01, 0.7, len(rows))
    head = rng.normal(0, 1, len(rows))
    head[300:2300] += 1.0  # users' role prompts look more like jailbreaks to the head than the twins do
    head[2300:] += 3.0
    lexical_jb[2300:2400] = 0.9  # a third of the jailbreaks the words alone catch; their label stands
    weight, threshold, found, flags = contextual_train.choose_jailbreak(rows, lexical_jb, 0.8, head)
    z = np.array([combine(float(p), float(e), weight) for p, e in zip(lexical_jb, head, strict=True)])
    assert (flags == ((lexical_jb >= 0.8) | (z >= threshold))).all()
    for name, mask in lexical.benign_sources(rows).items():
        assert flags[mask].mean() <= lexical.FPR_TARGET["jailbreak"], name
    assert found == flags[2300:].mean() > (lexical_jb[2300:] >= 0.8).mean()
    assert weight in contextual_train.WEIGHTS


def test_the_encoder_fits_cache_key_follows_the_rows_labels_and_folds():
    import numpy as np

    from clearance.guardrails.contextual_finetune import _oof_key

    class Torch:
        __version__ = "2.13.0+cpu"

    class Encoder:
        digest, max_tokens = "e" * 64, 256

    seqs = [[1, 2, 3], [4, 5], [6]]
    y, mask = np.array([1, 0, 0]), np.array([True, True, False])
    folds = [(np.array([1, 2]), np.array([0])), (np.array([0]), np.array([1, 2]))]
    key = _oof_key(Torch, Encoder, seqs, y, mask, folds)
    assert key == _oof_key(Torch, Encoder, [list(s) for s in seqs], y.copy(), mask.copy(), folds)
    assert key != _oof_key(Torch, Encoder, [[1, 2, 3], [4, 5], [7]], y, mask, folds)  # a row read only for scoring
    assert key != _oof_key(Torch, Encoder, seqs, np.array([1, 1, 0]), mask, folds)
    assert key != _oof_key(Torch, Encoder, seqs, y, mask, folds[::-1])
