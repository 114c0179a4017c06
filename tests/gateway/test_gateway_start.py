"""Starting ``clearance serve``: no password in the banner, no token lost to a failed start (issue 13)."""

from __future__ import annotations

import os
import subprocess
import sys

from gateway_kit import free_port, start_server, stop_server
from sqlalchemy.engine import make_url


def _serve(port: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from clearance.cli.main import main; main()", "serve", "--port", port],
                          cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_the_banner_hides_the_password_and_a_start_on_a_busy_port_issues_nothing(tmp_path, pg_schema_url):
    # Trust authentication ignores the password, so the URL works and the banner can be checked.
    url = make_url(pg_schema_url).set(password="hunter2-secret").render_as_string(hide_password=False)
    env = {"CLEARANCE_DATABASE_URL": url, "CLEARANCE_EVENTS_URL": pg_schema_url.split("?")[0]}
    first = start_server(tmp_path / "one", env_extra=env)
    try:
        banner = (tmp_path / "one" / "server.log").read_text()
        assert "hunter2-secret" not in banner and ":***@" in banner
        port = first.base.rsplit(":", 1)[1]
        busy = _serve(port, env, tmp_path)
        assert busy.returncode == 1
        assert "cannot listen on" in busy.stderr and "nothing was issued" in busy.stderr
        assert "shown once" not in busy.stdout + busy.stderr
        admins = first.admin_call("GET", "/v1/state", params={"kind": "credential"}).json()
        assert sum("admin" in r["record"]["scopes"] for r in admins) == 1  # only the first start's
    finally:
        stop_server(first)
    # The next start has no token to show, and says how to make one.
    again = subprocess.Popen([sys.executable, "-c", "from clearance.cli.main import main; main()", "serve", "--port",
                              str(free_port()), "--no-demo"], cwd=tmp_path, env={**os.environ, **env},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [again.stdout.readline() for _ in range(2)]
    finally:
        again.terminate()
        again.wait(timeout=20)
        again.stdout.close()
    assert "hunter2-secret" not in "".join(lines)
    assert any("issued before and not shown again" in line and "token create --scope admin" in line for line in lines)
