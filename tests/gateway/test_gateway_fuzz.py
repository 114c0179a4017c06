"""The gateway's model routes under odd but valid JSON bodies: a 4xx naming the field, never a 5xx (issue 13).

The server runs in-process (ASGI) over a SQLite file with the built-in demo model upstream;
hypothesis sends bounded numbers of bodies built from the fields the OpenAI wire format has,
each holding any JSON value, plus the specific shapes that used to answer 500.
"""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearance.server import create_server
from clearance.settings import Settings
from clearance.wiring import build_app, build_gateway

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
PART = st.fixed_dictionaries({}, optional={"type": st.sampled_from(["text", "image_url"]) | JSON, "text": JSON})
ODD_MESSAGE = st.fixed_dictionaries({}, optional={
    "role": st.sampled_from(["user", "system", "assistant"]) | JSON,
    "content": st.text(max_size=30) | st.lists(PART, max_size=3) | JSON,
})
MESSAGE = st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant"]),
                                 "content": st.text(max_size=30)}) | ODD_MESSAGE
# What each route reads, usually well formed (so calls reach the upstream), sometimes anything at all.
MAIN = {
    "/v1/chat/completions": ("messages", st.lists(MESSAGE, min_size=1, max_size=3) | JSON),
    "/v1/completions": ("prompt", st.text(max_size=30) | st.lists(st.text(max_size=10) | st.integers(0, 50_000),
                                                                   max_size=4) | JSON),
    "/v1/embeddings": ("input", st.text(max_size=30) | st.lists(st.text(max_size=10), max_size=4) | JSON),
}
EXTRA = {
    "messages": JSON,
    "stream": st.booleans() | JSON,
    "stream_options": st.fixed_dictionaries({}, optional={"include_usage": st.booleans() | JSON}) | JSON,
    "max_tokens": st.integers(-5, 2**64) | JSON,
    "max_completion_tokens": st.integers(-5, 2**64) | JSON,
    "n": JSON, "temperature": JSON, "tools": JSON, "user": JSON,
}


def body_for(route: str):
    field, values = MAIN[route]
    extra = {k: v for k, v in EXTRA.items() if k != field}
    return st.fixed_dictionaries({"model": st.just("mythos-5"), field: values}, optional=extra)


# Per route; raise it for a longer probe: CLEARANCE_FUZZ_EXAMPLES=1000 python -m pytest tests/gateway/test_gateway_fuzz.py
EXAMPLES = int(os.environ.get("CLEARANCE_FUZZ_EXAMPLES", "80"))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("gw-fuzz")
    config = Settings(database_url=str(workdir / "c.db"), audit_keys=str(workdir / "keys"))
    app = build_app(config)
    service = app.service
    service.put("person", "fuzz-user", {"entity": "stripe", "citizenships": ["US"], "location": "US"}, reason="fuzz")
    key = service.create_credential(["gateway"], reason="fuzz", person="fuzz-user",
                                    default_use_case="software-engineering", default_location="US").token
    server = create_server(build_gateway(config, app), app)
    with TestClient(server) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield client
    app.close()


def _call(client: TestClient, route: str, body) -> int:
    response = client.post(route, json=body)
    assert response.status_code < 500, f"{route} {body!r:.300}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["message"] and error["type"]
    return response.status_code


@pytest.mark.parametrize("route", sorted(MAIN))
def test_no_body_makes_a_model_route_answer_5xx(gateway, route):
    statuses: set[int] = set()

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(body=body_for(route))
    def run(body) -> None:
        statuses.add(_call(gateway, route, body))

    run()
    assert 200 in statuses and 400 in statuses  # the fuzz reached the model, and found odd shapes


def _nested(depth: int):
    value: object = "deep"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(("route", "body", "param"), [
    ("/v1/chat/completions", {"model": "mythos-5", "messages": 5}, "messages"),
    ("/v1/chat/completions", {"model": "mythos-5", "messages": [{"role": "user", "content": [{"type": "text", "text": 7}]}]},
     "messages[0].content[0].text"),
    ("/v1/chat/completions", {"model": "mythos-5", "messages": [{"role": "user", "content": [{"type": None, "text": None}]}]},
     "messages[0].content[0].text"),
    ("/v1/completions", {"model": "mythos-5", "prompt": [1, 2, 3]}, "prompt"),
    ("/v1/completions", {"model": "mythos-5", "prompt": [[1, 2], [3]]}, "prompt"),
    ("/v1/embeddings", {"model": "mythos-5", "input": [[1, 2]]}, "input"),
    ("/v1/chat/completions", {"model": "mythos-5", "stream": True, "stream_options": 5,
                              "messages": [{"role": "user", "content": "hi"}]}, "stream_options"),
    ("/v1/chat/completions", {"model": "mythos-5", "messages": [{"role": "user", "content": "hi"}],
                              "tools": _nested(300)}, None),
])
def test_each_shape_that_used_to_answer_500_is_a_400_naming_its_field(gateway, route, body, param):
    response = gateway.post(route, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    if param is None:
        assert "nested deeper" in error["message"]
