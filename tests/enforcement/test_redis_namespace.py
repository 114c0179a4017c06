"""Deployments sharing one Redis keep apart: every key and channel carries the deployment's namespace."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from clearance.enforcement.counters import RedisCounters
from clearance.settings import Settings, SettingsError
from needs import redis_url as redis_or_skip


def test_two_namespaces_on_one_redis_keep_separate_caps():
    url = redis_or_skip()
    scope, day = f"entity:ns-{uuid.uuid4().hex[:8]}/LIC-1", "2026-11-30"

    async def run() -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        blue = RedisCounters(url, prefix=f"blue-{uuid.uuid4().hex[:6]}:usage:")
        green = RedisCounters(url, prefix=f"green-{uuid.uuid4().hex[:6]}:usage:")
        try:
            first = await blue.reserve(scope, day, 80, 100, 1)
            other = await green.reserve(scope, day, 80, 100, 1)
            again = await blue.reserve(scope, day, 80, 100, 1)
        finally:
            await blue.close()
            await green.close()
        return first, other, again

    first, other, again = asyncio.run(run())
    assert first == (80, 80)
    assert other == (80, 80), "the other deployment's reservations are not counted against this one"
    assert again == (20, 100), "within one namespace the cap holds"


def test_the_namespace_names_the_channel_and_is_checked(tmp_path):
    from clearance.wiring import build_app

    assert Settings.from_env({}).redis_namespace == "clearance"
    assert Settings.from_env({"CLEARANCE_REDIS_NAMESPACE": "eu-prod.2"}).redis_namespace == "eu-prod.2"
    for bad in ("has space", "a:b", "x" * 65, "-lead"):
        with pytest.raises(SettingsError, match="CLEARANCE_REDIS_NAMESPACE"):
            Settings.from_env({"CLEARANCE_REDIS_NAMESPACE": bad})
    url = redis_or_skip()
    settings = Settings(database_url="memory:", audit_keys=str(tmp_path / "keys"), events_url=url,
                        redis_namespace="eu-prod")
    with build_app(settings) as app:
        assert app.bus.channel == "eu-prod:changes"
        assert app.redis_namespace == "eu-prod"
