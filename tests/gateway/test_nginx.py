"""A real nginx in front of the benchmark's mock model, with clearance as its ``auth_request`` authorizer.

nginx cannot read a request body in its access phase, so the model comes from the path
(``/models/<model>/v1/...``), as the README's configuration does it. Skips when nginx is not
installed (``apt-get install nginx-light``; ``.ci/run`` installs it and requires it).
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gateway_kit import Authorizer, Server, free_port, start_authorizer, start_server, stop_process, stop_server

from needs import nginx as nginx_binary

ROOT = Path(__file__).resolve().parents[2]
CHAT = {"model": "mythos-5", "messages": [{"role": "user", "content": "Summarise the control regime"}],
        "max_tokens": 64}

CONFIG = """\
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  upstream model {{ server 127.0.0.1:{model}; }}
  upstream clearance {{ server 127.0.0.1:{authz}; }}
  server {{
    listen 127.0.0.1:{port};
{locations}
  }}
}}
"""


def locations() -> str:
    """The README's nginx locations (kept in one place: the test runs what the README shows)."""
    text = (ROOT / "README.md").read_text()
    start = text.index("# --- clearance nginx locations ---")
    end = text.index("# --- end clearance nginx locations ---")
    return text[start:end]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Authorizer, str]]:
    binary = nginx_binary()
    workdir = tmp_path_factory.mktemp("nginx")
    server = start_server(workdir / "serve")
    authorizer = start_authorizer(server)
    model_port, port = free_port(), free_port()
    model = subprocess.Popen([sys.executable, str(ROOT / "bench" / "mock_upstream.py"), "--port", str(model_port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (workdir / "nginx.conf").write_text(CONFIG.format(dir=workdir, model=model_port, authz=authorizer.http.rsplit(":", 1)[1],
                                                      port=port, locations=locations()))
    nginx = subprocess.Popen([binary, "-c", str(workdir / "nginx.conf"), "-p", str(workdir)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/", timeout=1)
            httpx.get(f"http://127.0.0.1:{model_port}/v1/models", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    try:
        yield server, authorizer, base
    finally:
        for process in (nginx, model):
            stop_process(process)
        stop_process(authorizer.process)
        stop_server(server)
        log = workdir / "error.log"
        if log.exists() and "emerg" in log.read_text():
            pytest.fail(log.read_text())


def person(server: Server) -> tuple[str, str]:
    pid = f"p-nginx-{uuid.uuid4().hex[:6]}"
    server.person(pid, "stripe", ["US"], "US")
    return pid, server.key(pid, "software-engineering")[1]


def records(server: Server, pid: str) -> list[dict]:
    found = server.admin_call("GET", "/v1/audit/records", params={"person": pid}).json()["records"]
    return [r for r in found if r["kind"] in ("decision", "completion")]


def test_a_permitted_call_passes_through_nginx_to_the_model_and_is_recorded(stack):
    server, _, base = stack
    pid, token = person(server)
    reply = httpx.post(base + "/models/mythos-5/v1/chat/completions", json=CHAT,
                       headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"].startswith("The quick brown fox")
    recorded = records(server, pid)
    assert [r["kind"] for r in recorded] == ["decision"]
    body = recorded[0]["body"]
    assert body["decision"]["outcome"] == "permit" and body["source"] == "ext-authz"
    assert body["client"]["via"] == "nginx" and body["path"] == "/models/mythos-5/v1/chat/completions"
    assert reply.headers["x-clearance-decision-id"] == str(recorded[0]["seq"])


def test_a_denied_call_is_a_403_with_clearances_body_and_never_reaches_the_model(stack):
    server, _, base = stack
    pid, token = person(server)
    reply = httpx.post(base + "/models/mythos-5/v1/chat/completions", json=CHAT,
                       headers={"Authorization": f"Bearer {token}", "X-Client-Country": "CN"}, timeout=30)
    assert reply.status_code == 403 and reply.headers["content-type"].startswith("application/json")
    error = reply.json()["error"]
    assert error["code"] == "destination-not-authorized" and error["clearance"]["outcome"] == "deny"
    recorded = records(server, pid)
    assert [r["seq"] for r in recorded] == [error["clearance"]["decision_id"]]
    assert reply.headers["x-clearance-decision-id"] == str(recorded[0]["seq"])


def test_a_missing_or_bad_key_is_a_401_with_clearances_body(stack):
    _, _, base = stack
    missing = httpx.post(base + "/models/mythos-5/v1/chat/completions", json=CHAT, timeout=30)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing-api-key"
    bad = httpx.post(base + "/models/mythos-5/v1/chat/completions", json=CHAT,
                     headers={"Authorization": "Bearer nope"}, timeout=30)
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid-api-key"


def test_an_unknown_model_in_the_path_is_refused_by_policy(stack):
    server, _, base = stack
    pid, token = person(server)
    reply = httpx.post(base + "/models/mythos-6/v1/chat/completions", json={**CHAT, "model": "mythos-6"},
                       headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "unknown-model"


def test_a_cap_refusal_keeps_its_429_through_nginx(stack):
    server, _, base = stack
    licence = {"kind": "individual-licence", "models": ["gpt-5.6-sol"], "valid": {"from": "2026-01-01T00:00:00Z"},
               "covers": {"entities": ["amazon"]}, "use_cases": {"use_cases": ["general"]},
               "obligations": [{"code": "monitoring"}, {"code": "usage-cap", "tokens_per_day": 1200, "per": "person"}]}
    response = server.admin_call("PUT", "/v1/licences/LIC-NGINX-CAP", json={"record": licence, "reason": "test"})
    assert response.status_code == 201, response.text
    pid = f"p-nginx-{uuid.uuid4().hex[:6]}"
    server.person(pid, "amazon", ["US"], "US")
    token = server.key(pid, "general")[1]
    statuses = []
    for _ in range(5):  # bounded: without a body each call reserves the default 1,024 completion tokens
        reply = httpx.post(base + "/models/gpt-5.6-sol/v1/chat/completions", json={**CHAT, "model": "gpt-5.6-sol"},
                           headers={"Authorization": f"Bearer {token}"}, timeout=30)
        statuses.append(reply.status_code)
        if reply.status_code != 200:
            break
    assert statuses[0] == 200 and statuses[-1] == 429
    assert reply.json()["error"]["code"] == "usage-cap-exceeded"
