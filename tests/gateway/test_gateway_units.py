"""The gateway's pure parts: usage days, obligations to duties, and counting tokens from a stream."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from hypothesis import given
from hypothesis import strategies as st

from clearance.enforcement.counters import utc_day
from clearance.gateway.usage import StreamMeter, estimate
from clearance.obligations import clause_problems

NS = 1_000_000_000


@given(st.integers(0, 4_102_444_800 * NS))
def test_an_instant_falls_in_its_usage_day_and_the_reset_is_the_next_midnight(now_ns):
    day, reset = utc_day(now_ns)
    start = datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()
    end = datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp()
    assert end - start == 86_400
    assert start * NS <= now_ns < end * NS


def test_each_obligation_clause_is_checked_by_its_handler():
    assert clause_problems({"code": "monitoring", "content": True}) == []
    assert clause_problems({"code": "usage-cap", "tokens_per_day": 100, "per": "person"}) == []
    assert clause_problems({"code": "quarterly-audit"}) == [] and clause_problems({"code": "encryption-required"}) == []
    assert clause_problems({"code": "usage-cap", "tokens_per_day": "lots"})[0][0] == "tokens_per_day"
    assert clause_problems({"code": "usage-cap", "tokens_per_day": -5})[0][0] == "tokens_per_day"
    assert clause_problems({"code": "usage-cap", "tokens_per_day": 5, "per": "galaxy"})[0][0] == "per"
    assert clause_problems({"code": "usage-cap"})[0][0] == "tokens_per_day"
    assert clause_problems({"code": "monitoring", "contnet": True})[0][0] == "contnet"
    (field, message), = clause_problems({"code": "watermark-outputs"})
    assert field == "code" and "unknown obligation" in message and "usage-cap" in message


def sse(pieces: list[str], usage: dict | None) -> bytes:
    events = [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    if usage is not None:
        events.append({"choices": [], "usage": usage})
    return b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events) + b"data: [DONE]\n\n"


@given(st.lists(st.text(min_size=1, max_size=20), max_size=12), st.booleans(), st.data())
def test_a_stream_is_counted_the_same_however_it_is_cut_into_chunks(pieces, with_usage, data):
    usage = {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12} if with_usage else None
    raw = sse(pieces, usage)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=8)))
    meter = StreamMeter()
    for start, end in zip([0, *cuts], [*cuts, len(raw)], strict=True):
        meter.feed(raw[start:end])
    result, counted = meter.result(prompt_chars_=40)
    if with_usage:
        assert (result, counted) == (usage, False)
    else:
        chars = sum(len(p) for p in pieces)
        assert counted and result["completion_tokens"] == estimate(chars) and result["prompt_tokens"] == 10


def test_the_prompt_is_measured_in_every_shape_a_client_sends_it():
    from clearance.gateway.usage import prompt_chars

    parts = {"messages": [{"role": "user", "content": [{"type": "text", "text": "abcd"}, {"type": "image_url"}]},
                          {"role": "user", "content": "efg"}]}
    assert prompt_chars(parts) == 7
    assert prompt_chars({"prompt": "hello"}) == 5 and prompt_chars({"prompt": ["ab", "cde", 7]}) == 5
    assert prompt_chars({"input": "xyz"}) == 3 and prompt_chars({"input": ["a", "bc"]}) == 3
    assert prompt_chars({"model": "m"}) == 0


def test_a_counted_token_is_four_characters_rounded_up():
    assert [estimate(n) for n in (0, 1, 4, 5, 8, 9)] == [0, 1, 1, 2, 2, 3]


def test_a_usage_block_keeps_its_zero_counts_and_gets_a_total():
    from clearance.gateway.usage import from_reply

    reply = b'{"usage": {"prompt_tokens": 5, "completion_tokens": 0, "total_tokens": 5}}'
    assert from_reply(reply) == {"prompt_tokens": 5, "completion_tokens": 0, "total_tokens": 5}
    assert from_reply(b'{"usage": {"prompt_tokens": -1, "completion_tokens": true}}') is None
    assert from_reply(b'{"usage": {"prompt_tokens": 5}}') == {"prompt_tokens": 5, "total_tokens": 5}
    assert from_reply(b'{"usage": {"completion_tokens": 2}}') == {"completion_tokens": 2, "total_tokens": 2}


def test_without_a_gateway_file_every_model_goes_to_the_demo_and_no_header_is_trusted():
    from clearance.gateway.config import load_config

    config = load_config(None)
    assert config.default_upstream == "demo" and config.upstreams == [] and config.trusted_proxies == []
    assert config.location_header is None and config.max_body_bytes == 4 * 1024 * 1024


def test_a_gateway_file_with_an_unnamed_upstream_or_a_tiny_body_limit_is_refused(tmp_path):
    import pytest

    from clearance.gateway.config import ConfigError, load_config

    path = tmp_path / "gateway.yaml"
    path.write_text("upstreams:\n  - name: ''\n    base_url: http://127.0.0.1:9/v1\n    models: [m]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}: upstreams.0.name" in str(caught.value)
    path.write_text("max_body_bytes: 1024\nupstreams:\n  - name: fast\n    base_url: http://127.0.0.1:9/v1\n"
                    "    models: [m]\n    timeout_s: 0.5\n    connect_timeout_s: 0.25\n    max_connections: 1\n")
    config = load_config(path)
    assert config.max_body_bytes == 1024 and config.upstreams[0].timeout_s == 0.5
    path.write_text("max_body_bytes: 1023\n")
    with pytest.raises(ConfigError, match="max_body_bytes"):
        load_config(path)
