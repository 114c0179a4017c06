"""A property of the whole gateway: guardrails only ever take away. A call the decision refuses is
refused with the decision's own code (never judged, never forwarded), and a call the guard blocks
was a permit. Over callers from several countries, every use case, and prompts with any marker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from guard_gate_kit import MARKERS, Gate, chat, gate, headers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

USE_CASES = ["research", "software-engineering", "general", "medical-diagnostics", "synthetic-biology-design",
             "military-command-control"]
COUNTRIES = ["CA", "GB", "CN", "RU", "US"]


@pytest.fixture(scope="module")
def running(tmp_path_factory) -> Iterator[tuple[Gate, dict[str, str]]]:
    with gate(tmp_path_factory.mktemp("never-permits")) as g:
        tokens = {c: g.key(f"person-{c}", "vector-institute", c) for c in COUNTRIES}
        yield g, tokens


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(COUNTRIES), st.sampled_from(USE_CASES),
       st.lists(st.sampled_from([m for m, _ in MARKERS] + ["hello", "EVILANSWER"]), min_size=1, max_size=3))
def test_guardrails_never_turn_a_refusal_into_a_forward(running, country, use_case, words):
    g, tokens = running
    seen = len(g.prompt_guard.seen)
    response = g.client.post("/v1/chat/completions", json=chat(" ".join(words)),
                             headers={**headers(tokens[country], use_case), "X-Client-Country": country})
    seq = int(response.headers["x-clearance-decision-id"])
    page = g.admin_call("GET", "/v1/audit/records", params={"kind": "decision", "after_seq": seq - 1, "limit": 1})
    [record] = page.json()["records"]
    assert record["seq"] == seq
    decision = record["body"]["decision"]
    if decision["outcome"] != "permit":
        assert response.status_code == 403
        assert response.json()["error"]["code"] == decision["code"]
        assert len(g.prompt_guard.seen) == seen  # a refused call is never judged
    elif response.status_code == 403 and response.json()["error"]["code"] == "guardrail-blocked":
        assert any(m in words for m, _ in MARKERS) or "EVILANSWER" in words
    else:
        assert response.status_code == 200, response.text
