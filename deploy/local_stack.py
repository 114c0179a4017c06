"""The compose deployment, run on this host without Docker: PostgreSQL, Redis, gateways, nginx.

``deploy/compose.yaml`` and ``deploy/nginx.conf`` stay the one description of the deployment:
the gateways get the environment of compose's ``x-clearance-env`` (only the service hosts and
paths swapped for local ones) and compose's ``serve`` command (only host and ports swapped);
``init`` runs compose's own ``db upgrade && audit head``; nginx runs ``deploy/nginx.conf``
with its ``server gateway-N:8000`` lines replaced by one line per local gateway (same
parameters) and ``listen 80`` by a loopback port, included in a minimal main configuration
like the official image's ``conf.d`` include. Used by ``deploy/smoke.py`` (which CI runs),
``tests/deploy/test_several_gateways.py`` and ``bench/scaleout.py``. Everything listens on
127.0.0.1 only and every wait is bounded.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

DEPLOY = Path(__file__).resolve().parent
CLI = [sys.executable, "-m", "clearance.cli"]
NGINX_MAIN = """\
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  include {dir}/default.conf;
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def compose_env(database_url: str, redis_url: str, keys_dir: Path, gateway_config: Path) -> dict[str, str]:
    """Compose's ``x-clearance-env`` with the compose hosts and mounted paths replaced by local ones.

    A variable added to compose that is not mapped here fails loudly, so the two cannot drift apart.
    """
    local = {"CLEARANCE_DATABASE_URL": database_url, "CLEARANCE_EVENTS_URL": redis_url,
             "CLEARANCE_COUNTERS_URL": redis_url, "CLEARANCE_AUDIT_KEYS": str(keys_dir),
             "CLEARANCE_GATEWAY_CONFIG": str(gateway_config)}
    env = {}
    for name, value in compose()["x-clearance-env"].items():
        if name in local:
            env[name] = local[name]
        elif "${" in str(value) or "/" in str(value):
            raise RuntimeError(f"compose.yaml sets {name}={value!r}: local_stack.py does not know its local value")
        else:
            env[name] = str(value)
    return env


def serve_args(port: int, admin_port: int, workers: int | None = None) -> list[str]:
    """Compose's gateway command with host and ports swapped for local ones (and, for benches, the workers)."""
    command = list(compose()["x-gateway"]["command"])
    swap = {"--host": "127.0.0.1", "--port": str(port), "--admin-port": str(admin_port)}
    if workers is not None:
        swap["--workers"] = str(workers)
    for option, value in swap.items():
        command[command.index(option) + 1] = value
    return command


def init_commands() -> list[list[str]]:
    """Compose's ``init`` entrypoint (``clearance a && clearance b``) as argument lists."""
    line = compose()["services"]["init"]["entrypoint"][-1]
    return [re.sub(r"^clearance ", "", part.strip()).split() for part in line.split("&&")]


def nginx_conf(upstream_ports: list[int], port: int) -> str:
    """``deploy/nginx.conf`` with its gateway servers and listen port made local; nothing else changes."""
    text = (DEPLOY / "nginx.conf").read_text()
    servers = re.findall(r"^(\s*)server gateway-\d+:8000([^;]*);\n", text, re.M)
    if not servers:
        raise RuntimeError("deploy/nginx.conf has no `server gateway-N:8000` line")
    indent, params = servers[0]
    lines = "".join(f"{indent}server 127.0.0.1:{p}{params};\n" for p in upstream_ports)
    text = re.sub(r"^\s*server gateway-\d+:8000[^;]*;\n", lambda _: "", text, flags=re.M)
    text = text.replace("upstream clearance_gateways {\n", "upstream clearance_gateways {\n" + lines, 1)
    text, listens = re.subn(r"^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{port};", text, flags=re.M)
    if listens != 1:
        raise RuntimeError("deploy/nginx.conf: expected one `listen 80;`")
    return text


@contextmanager
def scratch_schema(base_url: str, prefix: str = "clearance_stack") -> Iterator[str]:
    """A fresh PostgreSQL schema on ``base_url`` (reached through ``search_path``), dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@contextmanager
def scratch_database(base_url: str, prefix: str = "clearance_stack") -> Iterator[str]:
    """A fresh PostgreSQL database beside ``base_url``'s, dropped afterwards.

    Unlike a schema it has advisory locks of its own: the audit writer lock is one key per
    database, so deployments in schemas of one database serialise each other's audit commits.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def run_init(env: dict[str, str], workdir: Path) -> str:
    """Compose's ``init``: each command in turn; the output of all; raises if one fails."""
    out = []
    for args in init_commands():
        done = subprocess.run([*CLI, *args], env={**os.environ, **env}, cwd=workdir, capture_output=True, text=True,
                              timeout=120)
        out.append(done.stdout + done.stderr)
        if done.returncode != 0:
            raise RuntimeError(f"clearance {' '.join(args)} failed ({done.returncode}):\n{''.join(out)}")
    return "".join(out)


@dataclass
class Gateway:
    name: str
    port: int
    admin_port: int
    process: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def printed(self, pattern: str) -> str | None:
        found = re.search(pattern, self.log.read_text())
        return found.group(1) if found else None


def start_gateway(name: str, env: dict[str, str], workdir: Path, workers: int | None = None,
                  extra: list[str] | None = None) -> Gateway:
    """``clearance serve`` as compose runs it (not waited for: see :func:`wait_ready`)."""
    port, admin_port = free_port(), free_port()
    log = workdir / f"{name}.log"
    with open(log, "w") as out:  # the child keeps its own descriptor
        process = subprocess.Popen([*CLI, *serve_args(port, admin_port, workers), *(extra or [])], cwd=workdir,
                                   env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return Gateway(name, port, admin_port, process, log)


def wait_ready(gateway: Gateway, seconds: float = 90) -> None:
    """Until ``/readyz`` answers 200 (compose's health check), bounded; raises with the log otherwise."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gateway.process.poll() is not None:
            raise RuntimeError(f"{gateway.name} exited ({gateway.process.returncode}):\n{gateway.log.read_text()[-4000:]}")
        try:
            if httpx.get(gateway.base + "/readyz", timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{gateway.name} not ready after {seconds} s:\n{gateway.log.read_text()[-4000:]}")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, seconds: float = 30) -> int:
    """Stop a process started here (its own session) with ``sig``, then SIGKILL; its exit code."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
    return process.returncode


@dataclass
class Nginx:
    port: int
    process: subprocess.Popen
    workdir: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def errors(self) -> str:
        log = self.workdir / "error.log"
        return log.read_text() if log.exists() else ""


def start_nginx(binary: str, upstream_ports: list[int], workdir: Path, seconds: float = 30) -> Nginx:
    """nginx (not daemonised, one worker) on ``deploy/nginx.conf`` over ``upstream_ports``; waits until it listens."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (workdir / "default.conf").write_text(nginx_conf(upstream_ports, port))
    (workdir / "nginx.conf").write_text(NGINX_MAIN.format(dir=workdir))
    process = subprocess.Popen([binary, "-c", str(workdir / "nginx.conf"), "-p", str(workdir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    nginx = Nginx(port, process, workdir)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited ({process.returncode}):\n{nginx.errors()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return nginx
        except OSError:
            time.sleep(0.1)
    stop(process, signal.SIGQUIT)
    raise RuntimeError(f"nginx did not listen within {seconds} s:\n{nginx.errors()}")
