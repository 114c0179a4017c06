"""``deploy/smoke.py``, the README's deployment without Docker, run as CI runs it.

It starts compose's two gateways on a scratch PostgreSQL schema and Redis behind nginx on
``deploy/nginx.conf``, calls through nginx, stops cleanly and verifies the audit log. Skips
without PostgreSQL, Redis or nginx (fails in CI, which requires them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from needs import nginx, redis_url

ROOT = Path(__file__).resolve().parents[2]


def test_the_deployment_smoke_script_passes_every_step(pg_url):
    nginx()
    redis = redis_url()
    done = subprocess.run([sys.executable, str(ROOT / "deploy" / "smoke.py"), "--postgres", pg_url, "--redis", redis],
                          capture_output=True, text=True, timeout=300, env={**os.environ})
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    for expected in ("init done: clearance db upgrade && clearance audit head",
                     "gateway-1 and gateway-2 ready", "chat completion through nginx: 200",
                     "read back through gateway-2's admin port", "/readyz through nginx: 200",
                     "clean stop: nginx and both gateways exited 0", "clearance audit verify:"):
        assert expected in done.stdout, (expected, done.stdout)
    assert "intact" in done.stdout.split("clearance audit verify:", 1)[1]
