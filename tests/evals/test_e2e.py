"""End to end through a real ``clearance serve``: measure the demo model, accept the run, watch the tier and a decision change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))
from gateway_kit import start_server, stop_server  # noqa: E402

MODEL = "gpt-5.6-terra"  # S-2 from its bundle evidence; S-3 needs a qualified entity


def _cli(server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLEARANCE_DATABASE_URL": f"sqlite:///{server.workdir / 'clearance.db'}"}
    return subprocess.run([sys.executable, "-m", "clearance.cli", *args], cwd=server.workdir, env=env,
                          capture_output=True, text=True, timeout=300)


def _ask(server, key: str) -> httpx.Response:
    return httpx.post(f"{server.base}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                      json={"model": MODEL, "messages": [{"role": "user", "content": "Hello"}]})


@pytest.fixture
def server(tmp_path, prompts_dir):
    running = start_server(tmp_path / "serve", env_extra={"CLEARANCE_EVAL_DATA": str(prompts_dir)})
    yield running
    stop_server(running)


def test_measured_evidence_changes_the_tier_and_the_decisions_live(server, prompts_dir):
    # An unqualified US company (CMMC level 1) with a licence for the S-2 model.
    entity = {"record": {"name": "Eval Co", "country": "US", "kind": "company", "facts": {"cmmc_level": 1}},
              "reason": "test"}
    assert server.admin_call("PUT", "/v1/entities/evalco", json=entity).status_code == 201
    licence = {"record": {"kind": "individual-licence", "models": [MODEL], "valid": {"from": "2026-01-01T00:00:00Z"},
                          "covers": {"entities": ["evalco"]}, "use_cases": {"use_cases": ["research"]}},
               "reason": "test"}
    response = server.admin_call("PUT", "/v1/licences/LIC-EVAL-1", json=licence)
    assert response.status_code == 201, response.text
    server.person("eval-user", "evalco", ["US"], "US")
    _, key = server.key("eval-user", "research")
    assert _ask(server, key).status_code == 200

    ran = _cli(server, "eval", "run", "refusal", "--target", server.base, "--model", MODEL, "--key", key,
               "--limit", "40", "--data", str(prompts_dir))
    assert ran.returncode == 0, ran.stderr
    assert "refusal_rate:" in ran.stdout and "answered 40/40" in ran.stdout
    run_id = ran.stdout.split()[1].rstrip(":")
    assert json.loads(_cli(server, "tier", "show", MODEL, "--json").stdout)["tier"] == "S-2"

    preview = _cli(server, "eval", "accept", run_id, "--model", MODEL, "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert f"tier of {MODEL} would be S-2 -> S-3" in preview.stdout
    assert "evalco" in preview.stdout and " 0 would lose it" not in preview.stdout, preview.stdout
    assert json.loads(_cli(server, "tier", "show", MODEL, "--json").stdout)["tier"] == "S-2", "a dry run writes nothing"

    accepted = _cli(server, "eval", "accept", run_id, "--model", MODEL, "--reason", "measured")
    assert accepted.returncode == 0, accepted.stderr
    assert f"tier of {MODEL}: S-2 -> S-3" in accepted.stdout

    deadline = time.monotonic() + 10
    while (reply := _ask(server, key)).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "entity-unqualified"

    tier = json.loads(_cli(server, "tier", "show", MODEL, "--json").stdout)
    assert tier["tier"] == "S-3" and any("guardrail-robustness" in b for b in tier["because"])
    assert [e["run"] for e in tier["evidence"]] == [run_id]
    history = server.admin_call("GET", f"/v1/history/evidence/{MODEL}:refusal").json()
    assert history, "the evidence is a registry record with history"
    audit = server.admin_call("GET", "/v1/audit/records", params={"kind": "admin-change"}).json()
    changes = [r for r in audit["records"] if r["body"].get("change", {}).get("kind") == "evidence"] \
        if isinstance(audit, dict) and "records" in audit else []
    assert changes and changes[-1]["body"]["body"]["suite_hash"] and changes[-1]["body"]["body"]["judge"]


def test_the_api_starts_a_run_and_auditors_read_it(server):
    body = {"suite": "injection", "target": server.base, "model": "mythos-5", "key": server.demo_key}
    assert httpx.post(f"{server.base}/v1/evals", json=body, timeout=30).status_code == 401
    started = server.admin_call("POST", "/v1/evals", json=body)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert server.admin_call("POST", "/v1/evals", json={**body, "suite": "/etc/passwd"}).status_code == 422
    auditor = server.admin_call("POST", "/v1/credentials", json={"scopes": ["auditor"], "reason": "test"}).json()["token"]
    read = lambda token: httpx.get(f"{server.base}/v1/evals/{run_id}", timeout=30,  # noqa: E731
                                   headers={"Authorization": f"Bearer {token}"})
    deadline = time.monotonic() + 60
    while (found := read(auditor).json())["run"]["status"] != "finished" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert found["run"]["status"] == "finished" and found["counts"]["answered"] == 28
    assert found["headline"]["metric"] == "injection_success_rate" and found["headline"]["lower"] is not None
    assert len(found["run"]["suite_hash"]) == 64 and found["run"]["judge"].startswith("trained-2:")
    assert server.demo_key not in started.text + read(auditor).text, "the target key is never echoed or stored"
    assert read(server.demo_key).status_code == 403
    page = httpx.get(f"{server.base}/v1/evals/{run_id}", params={"format": "html"}, timeout=30,
                     headers={"Authorization": f"Bearer {auditor}"})
    assert page.status_code == 200 and "<svg" in page.text and found["run"]["suite_hash"] in page.text
    assert read(auditor).status_code == 200 and httpx.get(f"{server.base}/v1/evals/ev-nope", timeout=30, headers={
        "Authorization": f"Bearer {auditor}"}).status_code == 404
