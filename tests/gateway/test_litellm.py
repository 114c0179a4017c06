"""A real LiteLLM proxy enforcing clearance through its plug-in (``clearance.plugins.litellm``).

``clearance serve`` holds the registry and admin API; a LiteLLM proxy process on the same
database routes ``mythos-5`` and ``gpt-5.6-sol`` to a model that says which ``max_tokens`` it
was sent and uses 22 tokens a call, with clearance
as its custom auth, pre-call hook and success callback. Skips when LiteLLM is not installed
(``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from aiohttp import web
from gateway_kit import Server, free_port, start_server, stop_process, stop_server
from loopback_app import LoopbackApp

pytest.importorskip("litellm", reason="LiteLLM is not installed: pip install -e '.[bench]'")
LITELLM = shutil.which("litellm") or str(Path(sys.executable).parent / "litellm")



class Model(LoopbackApp):
    """An OpenAI-format model on 127.0.0.1: answers with the ``max_tokens`` it got, and 22 tokens of usage."""

    def __init__(self) -> None:
        self.sent: list[int | None] = []
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._answer)

    async def _answer(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.sent.append(body.get("max_tokens", body.get("max_completion_tokens")))
        return web.json_response({
            "id": "m-1", "object": "chat.completion", "created": 1782000000, "model": body.get("model"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"The quick brown fox; max_tokens={self.sent[-1]}"}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 10, "total_tokens": 22}})

TRY = [{"role": "user", "content": "Summarise the control regime"}]

CONFIG = """\
model_list:
  - model_name: mythos-5
    litellm_params: {{model: openai/mythos-5, api_base: "http://127.0.0.1:{model}/v1", api_key: upstream-key}}
  - model_name: gpt-5.6-sol
    litellm_params: {{model: openai/gpt-5.6-sol, api_base: "http://127.0.0.1:{model}/v1", api_key: upstream-key}}
general_settings:
  custom_auth: clearance.plugins.litellm.user_api_key_auth
litellm_settings:
  callbacks: clearance.plugins.litellm.handler
  drop_params: true
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, Model]]:
    if not Path(LITELLM).exists():
        pytest.skip("the litellm command is not installed: pip install -e '.[bench]'")
    workdir = tmp_path_factory.mktemp("litellm")
    server = start_server(workdir / "serve")
    model, port = Model(), free_port()
    (workdir / "config.yaml").write_text(CONFIG.format(model=model.port))
    env = {**os.environ, "CLEARANCE_DATABASE_URL": f"sqlite:///{server.workdir / 'clearance.db'}",
           "CLEARANCE_AUDIT_HEAD_INTERVAL": "0.3", "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR",
           "LITELLM_MASTER_KEY": "sk-master-" + secrets.token_hex(16)}
    with open(workdir / "litellm.log", "w") as log:
        proxy = subprocess.Popen([LITELLM, "--config", str(workdir / "config.yaml"), "--host", "127.0.0.1",
                                  "--port", str(port)], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if proxy.poll() is not None or time.monotonic() > deadline:
                pytest.fail("LiteLLM proxy did not start:\n" + (workdir / "litellm.log").read_text()[-4000:])
            try:
                if httpx.get(base + "/health/liveliness", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield server, base, model
    finally:
        stop_process(proxy)
        model.close()
        stop_server(server)


OPEN: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while OPEN:
        OPEN.pop().close()


def client(base: str, token: str, **headers: str) -> openai.OpenAI:
    made = openai.OpenAI(base_url=base + "/v1", api_key=token, default_headers=headers, max_retries=0, timeout=60)
    OPEN.append(made)
    return made


def records(server: Server, person: str, kind: str, count: int = 1, deadline_s: float = 15.0) -> list[dict]:
    end = time.monotonic() + deadline_s
    while True:
        response = server.admin_call("GET", "/v1/audit/records", params={"limit": 1000, "person": person, "kind": kind})
        found = response.json()["records"]
        if len(found) >= count or time.monotonic() > end:
            return found
        time.sleep(0.1)


def person(server: Server, entity: str = "stripe", use_case: str = "software-engineering",
           location: str = "US") -> tuple[str, str]:
    pid = f"p-litellm-{uuid.uuid4().hex[:6]}"
    server.person(pid, entity, ["US"], location)
    return pid, server.key(pid, use_case)[1]


def test_a_permitted_call_is_decided_recorded_and_its_usage_counted(stack):
    server, base, _ = stack
    pid, token = person(server)
    reply = client(base, token).chat.completions.create(model="mythos-5", messages=TRY, max_tokens=30)
    assert reply.choices[0].message.content == "The quick brown fox; max_tokens=30"
    decision = records(server, pid, "decision")[0]
    assert decision["body"]["source"] == "litellm" and decision["body"]["decision"]["outcome"] == "permit"
    completion = records(server, pid, "completion")[0]["body"]
    assert completion["decision_seq"] == decision["seq"] and completion["upstream"] == "litellm"
    assert completion["usage"]["total_tokens"] == reply.usage.total_tokens == 22
    assert completion["upstream_status"] == 200


def test_a_denied_call_never_reaches_the_model_and_carries_the_code_and_decision_id(stack):
    server, base, _ = stack
    pid, token = person(server, location="CN")
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client(base, token).chat.completions.create(model="mythos-5", messages=TRY)
    detail = json.loads(caught.value.body["message"])
    recorded = records(server, pid, "decision")
    assert detail["code"] == "destination-not-authorized" and detail["decision_id"] == recorded[0]["seq"]
    assert recorded[0]["body"]["decision"]["outcome"] == "deny"
    assert not records(server, pid, "completion", count=0)


def test_an_unknown_key_is_refused_by_clearance(stack):
    _, base, _ = stack
    with pytest.raises(openai.AuthenticationError) as caught:
        client(base, "clr_nope_nope").chat.completions.create(model="mythos-5", messages=TRY)
    assert "invalid-api-key" in str(caught.value)


def test_a_usage_cap_lowers_max_tokens_settles_to_the_real_count_then_refuses_with_429(stack):
    server, base, model = stack
    licence = {"kind": "individual-licence", "models": ["gpt-5.6-sol"], "valid": {"from": "2026-01-01T00:00:00Z"},
               "covers": {"entities": ["amazon"]}, "use_cases": {"use_cases": ["general"]},
               "obligations": [{"code": "monitoring"}, {"code": "usage-cap", "tokens_per_day": 100, "per": "person"}]}
    response = server.admin_call("PUT", "/v1/licences/LIC-LITELLM-CAP", json={"record": licence, "reason": "test"})
    assert response.status_code == 201, response.text
    pid, token = person(server, "amazon", "general")
    c = client(base, token)
    served = 0
    with pytest.raises(openai.RateLimitError) as caught:
        for _ in range(12):  # bounded: each call spends the mock's 22 tokens of the 100
            c.chat.completions.create(model="gpt-5.6-sol", messages=TRY, max_tokens=500)
            served += 1
            records(server, pid, "completion", count=served)  # settled before the next call
    assert 3 <= served <= 4
    assert json.loads(caught.value.body["message"])["code"] == "usage-cap-exceeded"
    first = records(server, pid, "decision")[0]["body"]["enforcement"]["caps"][0]
    assert first["reserved"] == 100  # 500 asked for, cut to the cap
    asked = model.sent[-served:]
    assert all(a is not None and a < 100 for a in asked), asked  # the model was told the lower limit
    completions = records(server, pid, "completion", count=served)
    assert sum(c["body"]["usage"]["total_tokens"] for c in completions) == 22 * served
