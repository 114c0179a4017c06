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
