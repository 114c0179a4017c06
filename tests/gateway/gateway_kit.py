"""Starting and stopping a real ``clearance serve`` on 127.0.0.1 for the gateway's end-to-end tests.

It runs on a SQLite file with the example policy and the demo model, behind a gateway file
that trusts 127.0.0.1 as a proxy for the caller's country (``X-Client-Country``) and TLS
(``X-Forwarded-Proto``). The admin token and demo key are read from what it prints.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

GATEWAY_YAML = """\
trusted_proxies: [127.0.0.1/32]
location_header: X-Client-Country
tls_header: X-Forwarded-Proto
"""


@dataclass
class Server:
    base: str
    admin: str
    demo_key: str
    process: subprocess.Popen
    workdir: Path

    def admin_call(self, method: str, path: str, **kwargs) -> httpx.Response:
        return httpx.request(method, self.base + path, headers={"Authorization": f"Bearer {self.admin}"}, timeout=30,
                             **kwargs)

    def person(self, person_id: str, entity: str, citizenships: list[str], location: str) -> None:
        body = {"record": {"entity": entity, "citizenships": citizenships, "location": location}, "reason": "test"}
        response = self.admin_call("PUT", f"/v1/people/{person_id}", json=body)
        assert response.status_code == 201, response.text

    def key(self, person_id: str, use_case: str | None = None) -> tuple[str, str]:
        body = {"scopes": ["gateway"], "person": person_id, "reason": "test"}
        if use_case:
            body["default_use_case"] = use_case
        response = self.admin_call("POST", "/v1/credentials", json=body)
        assert response.status_code == 201, response.text
        data = response.json()
        return data["key"], data["token"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workdir: Path, env_extra: dict[str, str] | None = None, workers: int = 1,
                 gateway_yaml: str = GATEWAY_YAML) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "gateway.yaml").write_text(gateway_yaml)
    port = free_port()
    env = {**os.environ, "CLEARANCE_DATABASE_URL": f"sqlite:///{workdir / 'clearance.db'}",
           "CLEARANCE_GATEWAY_CONFIG": str(workdir / "gateway.yaml"), "CLEARANCE_AUDIT_HEAD_INTERVAL": "0.3",
           **(env_extra or {})}
    with open(workdir / "server.log", "w") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [sys.executable, "-c", "from clearance.cli.main import main; main()", "serve", "--port", str(port),
             "--workers", str(workers)],
            cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("clearance serve exited:\n" + (workdir / "server.log").read_text())
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("clearance serve did not become healthy:\n" + (workdir / "server.log").read_text())
    printed = (workdir / "server.log").read_text()
    admin = re.search(r"admin token \(shown once\): (\S+)", printed)
    demo = re.search(r"demo key \(shown once\): (\S+)", printed)
    assert admin and demo, printed
    return Server(base, admin.group(1), demo.group(1), process, workdir)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@dataclass
class Authorizer:
    """A running ``clearance authz serve`` on the database of a ``clearance serve``."""

    http: str
    grpc: str
    process: subprocess.Popen


def start_authorizer(server: Server) -> Authorizer:
    """``clearance authz serve`` beside ``server``: same database, same gateway file, ports of its own."""
    http_port, grpc_port = free_port(), free_port()
    env = {**os.environ, "CLEARANCE_DATABASE_URL": f"sqlite:///{server.workdir / 'clearance.db'}",
           "CLEARANCE_GATEWAY_CONFIG": str(server.workdir / "gateway.yaml"), "CLEARANCE_AUDIT_HEAD_INTERVAL": "0.3"}
    with open(server.workdir / "authz.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "from clearance.cli.main import main; main()", "authz", "serve",
             "--port", str(http_port), "--grpc-port", str(grpc_port)],
            cwd=server.workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("clearance authz serve exited:\n" + (server.workdir / "authz.log").read_text())
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return Authorizer(base, f"127.0.0.1:{grpc_port}", process)
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("clearance authz serve did not become healthy:\n" + (server.workdir / "authz.log").read_text())


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
