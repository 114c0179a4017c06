"""A real ``clearance serve --workers 2 --admin-port``: the two listeners, and one scrape that sums both workers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
from gateway_kit import GATEWAY_YAML, free_port, stop_process

from clearance.registry.records import split_token


def test_two_workers_two_listeners_and_metrics_merged_across_workers(tmp_path):
    (tmp_path / "gateway.yaml").write_text(GATEWAY_YAML)
    port, admin_port = free_port(), free_port()
    env = {**os.environ, "CLEARANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
           "CLEARANCE_GATEWAY_CONFIG": str(tmp_path / "gateway.yaml"), "CLEARANCE_LOG_FORMAT": "json"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(tmp_path / "server.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "from clearance.cli.main import main; main()", "serve", "--port", str(port),
             "--admin-port", str(admin_port), "--workers", "2"], cwd=tmp_path, env=env, stdout=log,
            stderr=subprocess.STDOUT)
    main, admin = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(admin + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        printed = (tmp_path / "server.log").read_text()
        token = re.search(r"admin token \(shown once\): (\S+)", printed).group(1)
        key = re.search(r"demo key \(shown once\): (\S+)", printed).group(1)
        body = {"model": "mythos-5", "messages": [{"role": "user", "content": "hi"}]}
        with httpx.Client(timeout=30) as client:
            statuses = [client.post(main + "/v1/chat/completions", json=body,
                                    headers={"Authorization": f"Bearer {key}", "Connection": "close"}).status_code
                        for _ in range(40)]
            assert statuses == [200] * 40
            auth = {"Authorization": f"Bearer {token}"}
            assert client.get(main + "/metrics", headers=auth).status_code == 404
            assert client.post(admin + "/v1/chat/completions", json=body,
                               headers={"Authorization": f"Bearer {key}"}).status_code in (404, 405)
            scraped = client.get(admin + "/metrics", headers=auth)
        assert scraped.status_code == 200
        text = scraped.text
        permits = sum(float(v) for v in re.findall(
            r'^clearance_decisions_total\{code="authorized",outcome="permit"\} (\S+)$', text, re.M))
        assert permits == 40  # whichever worker answered the scrape, it counts both workers' calls
        pids = set(re.findall(r'^clearance_registry_seq\{pid="(\d+)"\}', text, re.M))
        assert len(pids) == 2, text  # the version each worker decides with, per process
        lines = [line for line in printed.splitlines() if line.startswith("{")]
        # The secret may itself hold "_": split the token as the server does.
        assert all(split_token(key)[1] not in line for line in lines)
    finally:
        stop_process(process)
