"""The Anthropic Messages API through the gateway, as customers use it: the official ``anthropic`` SDK.

A real ``clearance serve`` on 127.0.0.1 routes ``gpt-5.6-terra`` to a scripted Anthropic-format
upstream (which notes what it was sent), ``gpt-5.6-sol`` to an OpenAI-format one, and every
other model to the built-in demo, which answers both formats.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import anthropic
import httpx
import pytest
from aiohttp import web
from gateway_kit import GATEWAY_YAML, Server, start_server, stop_server
from loopback_app import LoopbackApp

HELLO = [{"role": "user", "content": "Summarise the control regime in one line"}]
USAGE = {"input_tokens": 11, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 5, "output_tokens": 7}


class AnthropicUpstream(LoopbackApp):
    """An Anthropic-format server on 127.0.0.1, answering as Anthropic's API does and keeping what it got.

    The last user message chooses: ``overloaded`` is a 529 with Anthropic's error body; ``cut``
    streams a start and two deltas, then drops the connection; anything else is answered, with
    the ``max_tokens`` it was sent in the text and the usage in ``USAGE``.
    """

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, str], dict]] = []
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages", self._messages)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.seen.append(({k.lower(): v for k, v in request.headers.items()}, body))
        prompt = body["messages"][-1]["content"]
        if prompt == "overloaded":
            return web.json_response({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
                                     status=529)
        text = f"scripted reply; max_tokens={body['max_tokens']}"
        message = {"id": "msg_01", "type": "message", "role": "assistant", "model": body["model"],
                   "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
                   "usage": USAGE}
        if not body.get("stream"):
            return web.json_response(message)
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)

        async def event(name: str, data: dict) -> None:
            await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

        start = {**message, "content": [], "stop_reason": None, "usage": {**USAGE, "output_tokens": 1}}
        await event("message_start", {"type": "message_start", "message": start})
        await event("content_block_start", {"type": "content_block_start", "index": 0,
                                            "content_block": {"type": "text", "text": ""}})
        for piece in (text[:10], text[10:20]):
            await event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "text_delta", "text": piece}})
        if prompt == "cut":
            request.transport.close()
            return response
        await event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "text_delta", "text": text[20:]}})
        await event("content_block_stop", {"type": "content_block_stop", "index": 0})
        await event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                      "stop_sequence": None}, "usage": {"output_tokens": USAGE["output_tokens"]}})
        await event("message_stop", {"type": "message_stop"})
        await response.write_eof()
        return response


@pytest.fixture(scope="module")
def upstream() -> Iterator[AnthropicUpstream]:
    running = AnthropicUpstream()
    yield running
    running.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, upstream: AnthropicUpstream) -> Iterator[Server]:
    config = GATEWAY_YAML + (
        "upstreams:\n"
        f"  - name: scripted-anthropic\n    base_url: http://127.0.0.1:{upstream.port}/v1\n    dialect: anthropic\n"
        "    api_key_env: SCRIPTED_ANTHROPIC_KEY\n    models: [gpt-5.6-terra]\n"
        "  - name: openai-only\n    base_url: http://127.0.0.1:9/v1\n    models: [gpt-5.6-sol]\n")
    running = start_server(tmp_path_factory.mktemp("serve"), gateway_yaml=config,
                           env_extra={"SCRIPTED_ANTHROPIC_KEY": "sk-upstream-secret"})
    yield running
    stop_server(running)


OPEN: list[anthropic.Anthropic] = []


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while OPEN:
        OPEN.pop().close()


def client(server: Server, token: str, **headers: str) -> anthropic.Anthropic:
    made = anthropic.Anthropic(base_url=server.base, api_key=token, default_headers=headers, max_retries=0, timeout=30)
    OPEN.append(made)
    return made


def licensed(server: Server, model: str, cap: int | None = None, entity: str = "stripe") -> tuple[str, str]:
    """A new person at ``entity`` licensed for ``model`` (with a daily cap, if given): (person id, token).

    Licences cover entities: a capped one goes to an entity no other licence here covers.
    """
    suffix = uuid.uuid4().hex[:6]
    obligations = [{"code": "monitoring"}]
    if cap is not None:
        obligations.append({"code": "usage-cap", "tokens_per_day": cap, "per": "person"})
    licence = {"kind": "individual-licence", "models": [model], "valid": {"from": "2026-01-01T00:00:00Z"},
               "covers": {"entities": [entity]}, "use_cases": {"use_cases": ["general"]}, "obligations": obligations}
    response = server.admin_call("PUT", f"/v1/licences/LIC-ANT-{suffix}", json={"record": licence, "reason": "test"})
    assert response.status_code == 201, response.text
    person = f"p-ant-{suffix}"
    server.person(person, entity, ["US"], "US")
    return person, server.key(person, "general")[1]


def records(server: Server, person: str, kind: str, count: int = 1, deadline_s: float = 10.0) -> list[dict]:
    """The person's records of ``kind``, waiting (bounded) for ``count``: completions are written after the answer."""
    end = time.monotonic() + deadline_s
    while True:
        response = server.admin_call("GET", "/v1/audit/records", params={"limit": 1000, "person": person, "kind": kind})
        found = response.json()["records"]
        if len(found) >= count or time.monotonic() > end:
            return found
        time.sleep(0.05)


def test_the_sdk_gets_an_answer_from_the_demo_and_both_records_are_written(server):
    reply = client(server, server.demo_key).messages.create(model="mythos-5", max_tokens=256, messages=HELLO)
    assert reply.type == "message" and reply.role == "assistant" and reply.stop_reason == "end_turn"
    assert reply.content[0].text.startswith("[demo model mythos-5] You said: Summarise")
    decision = records(server, "demo-user", "decision")[-1]
    completion = records(server, "demo-user", "completion")[-1]["body"]
    assert decision["body"]["decision"]["outcome"] == "permit" and decision["body"]["path"] == "/messages"
    assert completion["decision_seq"] == decision["seq"] and completion["dialect"] == "anthropic"
    assert completion["usage"] == {"prompt_tokens": reply.usage.input_tokens, "completion_tokens": reply.usage.output_tokens,
                                   "total_tokens": reply.usage.input_tokens + reply.usage.output_tokens}
    assert completion["usage_counted"] is False


def test_a_stream_arrives_as_events_and_its_usage_is_read_from_message_start_and_message_delta(server):
    person, token = licensed(server, "mythos-5")
    with client(server, token).messages.stream(model="mythos-5", max_tokens=256, messages=HELLO) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 3 and "".join(pieces) == final.content[0].text
    completion = records(server, person, "completion")[0]["body"]
    assert completion["stream"] is True and completion["complete"] is True and completion["usage_counted"] is False
    assert completion["usage"]["completion_tokens"] == final.usage.output_tokens
    assert completion["usage"]["prompt_tokens"] == final.usage.input_tokens


def test_a_denial_is_an_anthropic_permission_error_carrying_the_code_and_the_recorded_decision(server):
    server.person("p-ant-cn", "stripe", ["US"], "US")
    _, token = server.key("p-ant-cn", "software-engineering")
    with pytest.raises(anthropic.PermissionDeniedError) as caught:
        client(server, token, **{"X-Client-Country": "CN"}).messages.create(model="mythos-5", max_tokens=64,
                                                                             messages=HELLO)
    body = caught.value.body
    assert body["type"] == "error" and body["error"]["type"] == "permission_error"
    detail = body["error"]["clearance"]
    assert detail["code"] == "destination-not-authorized" and detail["outcome"] == "deny" and detail["remedies"] is not None
    recorded = records(server, "p-ant-cn", "decision")
    assert [r["seq"] for r in recorded] == [detail["decision_id"]]
    assert caught.value.response.headers["x-clearance-decision-id"] == str(detail["decision_id"])
    assert not records(server, "p-ant-cn", "completion", count=0)


def test_keys_are_read_from_x_api_key_or_a_bearer_and_refusals_have_anthropics_shape(server):
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client(server, "not-a-key").messages.create(model="mythos-5", max_tokens=16, messages=HELLO)
    assert caught.value.body["error"] == {"type": "authentication_error", "message": "unknown or revoked key",
                                          "clearance": {"code": "invalid-api-key"}}
    missing = httpx.post(server.base + "/v1/messages", json={"model": "mythos-5", "max_tokens": 8, "messages": HELLO})
    assert missing.status_code == 401 and "x-api-key" in missing.json()["error"]["message"]
    bearer = anthropic.Anthropic(base_url=server.base, auth_token=server.demo_key, max_retries=0)
    OPEN.append(bearer)
    assert bearer.messages.create(model="mythos-5", max_tokens=16, messages=HELLO).content


def test_a_body_anthropic_would_refuse_is_a_400_naming_the_field(server):
    headers = {"x-api-key": server.demo_key}
    for body, field in (({"model": "mythos-5", "messages": HELLO}, "max_tokens"),
                        ({"model": "mythos-5", "max_tokens": 0, "messages": HELLO}, "max_tokens"),
                        ({"max_tokens": 5, "messages": HELLO}, "model"),
                        ({"model": "mythos-5", "max_tokens": 5}, "messages")):
        response = httpx.post(server.base + "/v1/messages", json=body, headers=headers)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error" and error["message"].startswith(field + ":")
        assert error["clearance"] == {"code": "invalid-request", "param": field}


def test_an_anthropic_upstream_gets_its_own_key_the_callers_version_and_the_policy_model(server, upstream):
    person, token = licensed(server, "gpt-5.6-terra")
    c = client(server, token, **{"anthropic-beta": "test-beta-1"})
    reply = c.messages.create(model="gpt-5.6-terra", max_tokens=100, messages=HELLO)
    assert reply.content[0].text == "scripted reply; max_tokens=100"
    headers, body = upstream.seen[-1]
    assert headers["x-api-key"] == "sk-upstream-secret" and "authorization" not in headers
    assert headers["anthropic-version"] == c.default_headers["anthropic-version"]  # the caller's, passed on
    assert headers["anthropic-beta"] == "test-beta-1"
    assert token not in json.dumps(headers)  # the caller's clearance key never reaches the upstream
    completion = records(server, person, "completion")[0]["body"]
    # Cache writes and reads are prompt tokens the model processed.
    assert completion["usage"] == {"prompt_tokens": 19, "completion_tokens": 7, "total_tokens": 26}
    assert completion["upstream"] == "scripted-anthropic"


def test_a_streamed_upstream_reply_is_counted_from_its_events(server):
    person, token = licensed(server, "gpt-5.6-terra")
    with client(server, token).messages.stream(model="gpt-5.6-terra", max_tokens=50, messages=HELLO) as stream:
        text = "".join(stream.text_stream)
    assert text == "scripted reply; max_tokens=50"
    completion = records(server, person, "completion")[0]["body"]
    assert completion["usage"] == {"prompt_tokens": 19, "completion_tokens": 7, "total_tokens": 26}
    assert completion["usage_counted"] is False and completion["complete"] is True


def test_a_stream_cut_before_message_delta_is_counted_from_what_passed(server):
    person, token = licensed(server, "gpt-5.6-terra")
    with pytest.raises(anthropic.APIError), client(server, token).messages.stream(
            model="gpt-5.6-terra", max_tokens=50, messages=[{"role": "user", "content": "cut"}]) as stream:
        list(stream.text_stream)
    completion = records(server, person, "completion")[0]["body"]
    assert completion["complete"] is False and completion["usage_counted"] is True
    assert completion["usage"]["prompt_tokens"] == 19  # message_start said so
    assert completion["usage"]["completion_tokens"] >= 1


def test_an_upstream_error_passes_through_in_anthropics_shape_and_is_recorded(server):
    person, token = licensed(server, "gpt-5.6-terra")
    with pytest.raises(anthropic.InternalServerError) as caught:
        client(server, token).messages.create(model="gpt-5.6-terra", max_tokens=10,
                                              messages=[{"role": "user", "content": "overloaded"}])
    assert caught.value.status_code == 529 and caught.value.body["error"]["type"] == "overloaded_error"
    completion = records(server, person, "completion")[0]["body"]
    assert completion["upstream_status"] == 529 and "usage" not in completion


def test_max_tokens_is_lowered_to_what_the_usage_cap_reserved(server, upstream):
    person, token = licensed(server, "gpt-5.6-terra", cap=300, entity="palantir")
    c = client(server, token)
    reply = c.messages.create(model="gpt-5.6-terra", max_tokens=4096, messages=HELLO)
    sent = upstream.seen[-1][1]["max_tokens"]
    assert 0 < sent < 300 and reply.content[0].text == f"scripted reply; max_tokens={sent}"
    cap = records(server, person, "decision")[0]["body"]["enforcement"]["caps"][0]
    assert cap["reserved"] == 300 and cap["tokens_per_day"] == 300
    # The 26 tokens used are settled; the rest of the day's 300 is still there, and then it is not.
    served = 1
    with pytest.raises(anthropic.RateLimitError) as caught:
        for _ in range(20):  # bounded: each call spends 26 of the 300
            c.messages.create(model="gpt-5.6-terra", max_tokens=4096, messages=HELLO)
            served += 1
            time.sleep(0.05)  # the previous call's tokens are settled after its answer
    assert 2 <= served <= 12
    assert caught.value.body["error"]["clearance"]["code"] == "usage-cap-exceeded"
    assert caught.value.response.headers["retry-after"]


def test_a_model_served_only_in_the_openai_format_is_a_clear_400(server):
    person, token = licensed(server, "gpt-5.6-sol")
    with pytest.raises(anthropic.BadRequestError) as caught:
        client(server, token).messages.create(model="gpt-5.6-sol", max_tokens=10, messages=HELLO)
    error = caught.value.body["error"]
    assert error["clearance"]["code"] == "wrong-format" and "openai format" in error["message"]
    assert records(server, person, "decision")[0]["seq"] == error["clearance"]["decision_id"]


def test_the_sdk_lists_the_models_the_caller_may_use_in_its_format(server):
    listed = [m.id for m in client(server, server.demo_key).models.list()]
    assert "mythos-5" in listed and "gpt-5.6-sol" not in listed
    _, token = licensed(server, "gpt-5.6-sol", entity="amazon")
    assert "gpt-5.6-sol" not in [m.id for m in client(server, token).models.list()]  # its upstream speaks openai
    openai_listing = httpx.get(server.base + "/v1/models", headers={"Authorization": f"Bearer {token}"}).json()
    assert "gpt-5.6-sol" in [m["id"] for m in openai_listing["data"]]
