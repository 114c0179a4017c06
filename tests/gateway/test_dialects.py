"""The Anthropic dialect's pure parts: usage read from replies and streams, however the bytes are cut."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from clearance.gateway.dialects.anthropic import DIALECT, MessagesMeter, normalise
from clearance.gateway.usage import estimate


def events(pieces: list[str], start_usage: dict | None, final_output: int | None) -> bytes:
    out = []
    message = {"id": "m", "type": "message", "role": "assistant", "content": []}
    if start_usage is not None:
        message["usage"] = start_usage
    out.append(("message_start", {"type": "message_start", "message": message}))
    out += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": p}}) for p in pieces]
    if final_output is not None:
        out.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                       "usage": {"output_tokens": final_output}}))
    out.append(("message_stop", {"type": "message_stop"}))
    return b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in out)


@given(st.lists(st.text(max_size=12), max_size=8), st.booleans(), st.data())
def test_a_stream_is_counted_the_same_however_it_is_cut_into_chunks(pieces, finished, data):
    raw = events(pieces, {"input_tokens": 4, "cache_read_input_tokens": 6, "output_tokens": 1}, 9 if finished else None)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=6)))
    meter = MessagesMeter(keep_text=True)
    for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True):
        meter.feed(raw[a:b])
    usage, counted = meter.result(prompt_chars=400)
    assert "".join(meter.text) == "".join(pieces)
    assert usage["prompt_tokens"] == 10  # message_start said so, cache reads included
    if finished:
        assert (usage, counted) == ({"prompt_tokens": 10, "completion_tokens": 9, "total_tokens": 19}, False)
    else:  # cut before message_delta: what passed is counted
        assert counted and usage["completion_tokens"] == max(1, estimate(len("".join(pieces))))


def test_a_stream_with_no_usage_at_all_is_counted_from_the_prompt_and_the_text():
    meter = MessagesMeter()
    meter.feed(events(["abcdefgh"], None, None))
    assert meter.result(prompt_chars=40) == ({"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}, True)


def test_usage_blocks_are_normalised_and_nonsense_is_ignored():
    assert normalise({"input_tokens": 3, "output_tokens": 4, "cache_creation_input_tokens": 2}) == {
        "prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}
    assert normalise({"input_tokens": -1, "output_tokens": True}) is None
    assert normalise("lots") is None
    assert DIALECT.usage(b"not json") is None


def test_the_prompt_bound_covers_system_blocks_tools_and_images():
    text_only = DIALECT.parse({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * 100}]},
                              "/messages", 1024)
    richer = DIALECT.parse({"model": "m", "max_tokens": 5, "system": [{"type": "text", "text": "y" * 100}],
                            "tools": [{"name": "t", "input_schema": {"type": "object"}}],
                            "messages": [{"role": "user", "content": [
                                {"type": "text", "text": "x" * 100},
                                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}}]}]},
                           "/messages", 1024)
    assert text_only.prompt_tokens >= 50 and text_only.completion_tokens == 5
    assert richer.prompt_tokens >= text_only.prompt_tokens + 50 + 1600
