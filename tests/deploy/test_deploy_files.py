"""The Dockerfile, compose file and nginx configuration: their structure, checked without Docker.

Docker is not available where the suite runs, so the compose file is validated here as YAML
against what the README's deployment section promises (PostgreSQL, Redis, a one-off init,
two gateways with readiness health checks, nginx in front, the admin port never published);
``docker compose config`` runs as well wherever a ``docker`` binary exists.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clearance.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_two_gateways_on_postgres_and_redis_behind_nginx():
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "init", "gateway-1", "gateway-2", "nginx"}
    for name in ("gateway-1", "gateway-2"):
        gateway = services[name]
        env = gateway["environment"]
        assert env["CLEARANCE_DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["CLEARANCE_DATABASE_URL"]
        assert env["CLEARANCE_EVENTS_URL"] == env["CLEARANCE_COUNTERS_URL"] == "redis://redis:6379/0"
        assert "${POSTGRES_PASSWORD" in env["CLEARANCE_DATABASE_URL"]  # no password in the file itself
        assert gateway["depends_on"]["init"]["condition"] == "service_completed_successfully"
        assert "/readyz" in " ".join(gateway["healthcheck"]["test"])
        assert "ports" not in gateway  # reachable only through nginx (8000) and the internal network (9000)
        command = gateway["command"]
        assert command[0] == "serve" and command[command.index("--admin-port") + 1] == "9000"
        assert any(v.endswith(":/var/lib/clearance/keys") for v in gateway["volumes"])  # one signing key ring
    assert services["init"]["entrypoint"][-1] == "clearance db upgrade && clearance audit head"
    assert services["nginx"]["ports"] == ["8080:80"]
    assert {k for k, v in services["nginx"]["depends_on"].items() if v["condition"] == "service_healthy"} == {
        "gateway-1", "gateway-2"}
    for source in [v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if v.startswith("./")]:
        assert (DEPLOY / source).is_file(), source


def test_nginx_sends_model_routes_to_both_gateways_and_never_the_admin_port():
    conf = (DEPLOY / "nginx.conf").read_text()
    assert set(re.findall(r"server (gateway-\d):(\d+)", conf)) == {("gateway-1", "8000"), ("gateway-2", "8000")}
    assert "9000" not in conf
    assert "proxy_next_upstream error;" in conf  # a call that reached a gateway is never repeated on another


def test_dockerfile_is_slim_and_not_root():
    text = (ROOT / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["python:3.11-slim", "python:3.11-slim"]
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and not user[-1].startswith(("root", "0:", "0\n")) and user[-1] != "0"
    assert "/readyz" in text


def test_every_cli_option_the_deployment_uses_exists():
    runner = CliRunner()
    services = _compose()["services"]
    used = [services["gateway-1"]["command"]] + [re.sub(r"^clearance ", "", part).split()
                                                 for part in services["init"]["entrypoint"][-1].split(" && ")]
    for command in used:
        words = [w for w in command if not w.startswith("-")][:2]
        subcommand = words[:1] if words[0] == "serve" else words
        result = runner.invoke(app, [*subcommand, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (command, result.output)
        for option in (w for w in command if w.startswith("--")):
            assert option in result.output, (command, option)


def test_docker_compose_config_validates_where_docker_exists():
    docker = shutil.which("docker")
    plugin = docker is not None and subprocess.run([docker, "compose", "version"], capture_output=True,
                                                   timeout=30).returncode == 0
    if not plugin:
        pytest.skip("no `docker compose` here: the compose file is checked structurally by the tests above")
    assert docker is not None
    result = subprocess.run([docker, "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "-q"],
                            env={"POSTGRES_PASSWORD": "check", "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


def test_nginx_accepts_the_deployment_config_as_the_smoke_script_runs_it(tmp_path):
    """``nginx -t`` on ``deploy/nginx.conf`` with only its gateway addresses and listen port made local."""
    import sys

    from needs import nginx

    binary = nginx()
    sys.path.insert(0, str(DEPLOY))
    import local_stack

    (tmp_path / "default.conf").write_text(local_stack.nginx_conf([18001, 18002, 18003], 18000))
    (tmp_path / "nginx.conf").write_text(local_stack.NGINX_MAIN.format(dir=tmp_path))
    result = subprocess.run([binary, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    rendered = (tmp_path / "default.conf").read_text()
    assert re.findall(r"server (127\.0\.0\.1:\d+) max_fails=2 fail_timeout=5s;", rendered) == [
        "127.0.0.1:18001", "127.0.0.1:18002", "127.0.0.1:18003"]
    original, local = (DEPLOY / "nginx.conf").read_text(), rendered
    strip = re.compile(r"^\s*(server \S+:\d+ [^;]*|listen [^;]*);\n?", re.M)
    assert strip.sub("", original) == strip.sub("", local)  # nothing else differs


def test_the_local_stack_maps_every_variable_compose_gives_the_gateways(tmp_path):
    import sys

    sys.path.insert(0, str(DEPLOY))
    import local_stack

    env = local_stack.compose_env("postgresql://db/x", "redis://r/0", tmp_path / "keys", tmp_path / "g.yaml")
    assert set(env) == set(_compose()["x-clearance-env"])
    assert local_stack.serve_args(1, 2)[:1] == ["serve"] and "--no-demo" in local_stack.serve_args(1, 2)
