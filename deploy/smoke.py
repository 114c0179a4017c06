"""The README's deployment, step by step, without Docker: what CI runs where no engine exists.

    python deploy/smoke.py [--postgres postgresql://127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]

It follows ``deploy/compose.yaml`` (see ``deploy/local_stack.py`` for what is swapped):

1. a scratch schema on ``--postgres`` (dropped at the end), standing in for compose's database;
2. ``init``: compose's ``clearance db upgrade && clearance audit head``;
3. ``gateway-1`` and ``gateway-2`` started at once, compose's command and environment
   (``deploy/gateway.yaml`` itself, JSON logs, two workers each, ``--no-demo``), each waited for on
   ``/readyz`` (compose's health check);
4. nginx on ``deploy/nginx.conf`` over both;
5. the admin token the first start printed, used on gateway-1's admin port to register a person
   and issue a key; through nginx: ``GET /v1/models``, a chat completion (200 with its decision
   id), ``/readyz``; the decision record read back through gateway-2's admin port;
6. a clean stop (nginx SIGQUIT, gateways SIGTERM; each must exit 0), then ``clearance audit verify``.

Prints each step; exit 0 when all passed, 1 with the failing step otherwise.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import local_stack as stack  # noqa: E402 - the sibling module, found through the path above

MODEL = "mythos-5"  # a model of the shipped example policy, answered by the demo model


def step(text: str) -> None:
    print(f"smoke: {text}", flush=True)


def smoke(postgres: str, redis_url: str, work: Path) -> None:
    nginx_bin = stack.nginx_binary()
    if nginx_bin is None:
        raise RuntimeError("nginx is not installed (Debian: apt-get install nginx-light)")
    with stack.scratch_schema(postgres, "clearance_smoke") as database_url:
        step(f"database: scratch schema {re.search(r'clearance_smoke_[0-9a-f]+', database_url).group(0)}")
        env = stack.compose_env(database_url, redis_url, work / "keys", stack.DEPLOY / "gateway.yaml")
        printed = stack.run_init(env, work).strip().splitlines()
        step(f"init done: clearance db upgrade && clearance audit head ({printed[-1] if printed else ''})")
        gateways = [stack.start_gateway(f"gateway-{i}", env, work) for i in (1, 2)]
        nginx = None
        try:
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                list(pool.map(stack.wait_ready, gateways))
            step("gateway-1 and gateway-2 ready (/readyz 200): " + ", ".join(
                f"{g.name} on {g.port} (admin {g.admin_port})" for g in gateways))
            nginx = stack.start_nginx(nginx_bin, [g.port for g in gateways], work / "nginx")
            step(f"nginx on {nginx.base} with deploy/nginx.conf")
            tokens = [t for g in gateways if (t := g.printed(r"admin token \(shown once\): (\S+)"))]
            if not tokens:
                raise RuntimeError("no gateway printed an admin token")
            step(f"admin token printed on first start ({len(tokens)} of 2 gateways printed one)")
            admin = {"Authorization": f"Bearer {tokens[0]}"}
            person = httpx.put(f"{gateways[0].admin}/v1/people/smoke-user", headers=admin, timeout=30, json={
                "record": {"entity": "stripe", "citizenships": ["US"], "location": "US"}, "reason": "smoke"})
            person.raise_for_status()
            made = httpx.post(f"{gateways[0].admin}/v1/credentials", headers=admin, timeout=30, json={
                "scopes": ["gateway"], "person": "smoke-user", "default_use_case": "software-engineering",
                "reason": "smoke"})
            made.raise_for_status()
            key = {"Authorization": f"Bearer {made.json()['token']}"}
            step("person and gateway key made through gateway-1's admin port")
            models = httpx.get(f"{nginx.base}/v1/models", headers=key, timeout=30)
            if models.status_code != 200:
                raise RuntimeError(f"GET /v1/models through nginx: {models.status_code} {models.text}")
            step(f"GET /v1/models through nginx: 200, {len(models.json()['data'])} models")
            chat = httpx.post(f"{nginx.base}/v1/chat/completions", headers=key, timeout=30, json={
                "model": MODEL, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 16})
            if chat.status_code != 200:
                raise RuntimeError(f"chat completion through nginx: {chat.status_code} {chat.text}")
            seq = int(chat.headers["x-clearance-decision-id"])
            step(f"chat completion through nginx: 200, decision id {seq}, request id {chat.headers.get('x-request-id')}")
            found = httpx.get(f"{gateways[1].admin}/v1/audit/records", headers=admin, timeout=30,
                              params={"person": "smoke-user"}).json()["records"]
            if seq not in [r["seq"] for r in found if r["kind"] == "decision"]:
                raise RuntimeError(f"decision {seq} not found through gateway-2's audit API: {found}")
            step(f"decision record {seq} read back through gateway-2's admin port")
            ready = httpx.get(f"{nginx.base}/readyz", timeout=10)
            if ready.status_code != 200:
                raise RuntimeError(f"/readyz through nginx: {ready.status_code} {ready.text}")
            step("/readyz through nginx: 200")
        finally:
            codes = [stack.stop(nginx.process, signal.SIGQUIT)] if nginx is not None else []
            codes += [stack.stop(g.process) for g in gateways]
        if nginx is not None and ("[emerg]" in nginx.errors() or "[crit]" in nginx.errors()):
            raise RuntimeError(f"nginx error log:\n{nginx.errors()}")
        if codes != [0, 0, 0]:
            raise RuntimeError(f"nginx and the gateways exited {codes}:\n" + "\n".join(g.log.read_text()[-2000:] for g in gateways))
        step("clean stop: nginx and both gateways exited 0")
        verify = subprocess.run([*stack.CLI, "audit", "verify"], env={**os.environ, **env}, cwd=work,
                                capture_output=True, text=True, timeout=120)
        if verify.returncode != 0:
            raise RuntimeError(f"clearance audit verify exited {verify.returncode}: {verify.stdout}{verify.stderr}")
        step(f"clearance audit verify: {verify.stdout.strip()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--postgres", default=os.environ.get("CLEARANCE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
                    help="a PostgreSQL database to make a scratch schema in")
    ap.add_argument("--redis", default=os.environ.get("CLEARANCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = ap.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="clearance-smoke-") as tmp:
        try:
            smoke(args.postgres, args.redis, Path(tmp))
        except Exception as exc:  # noqa: BLE001 - the failing step is the report
            print(f"smoke: FAILED: {exc}", file=sys.stderr)
            return 1
    step(f"passed in {time.monotonic() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
