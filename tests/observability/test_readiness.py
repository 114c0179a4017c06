"""``/readyz`` tells the truth: 503 naming the part that cannot answer, 200 again once it does.

PostgreSQL and Redis are reached through a :class:`tcp_proxy.TcpProxy` the test cuts, stalls
and resumes; the machine's services are never touched. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from ops_kit import running
from sqlalchemy.engine import make_url

from clearance.observability.health import Parts, Readiness
from clearance.settings import Settings
from needs import redis_url
from tcp_proxy import TcpProxy


def _through(url: str, proxy: TcpProxy) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


def _redis_or_skip() -> tuple[str, int]:
    parsed = make_url(redis_url())
    return parsed.host or "127.0.0.1", parsed.port or 6379


async def _ready(client, want: int, bound_s: float = 20.0) -> dict:
    """Poll /readyz until it answers ``want`` (bounded); returns the last body."""
    deadline = time.monotonic() + bound_s
    while True:
        response = await client.get("/readyz")
        if response.status_code == want or time.monotonic() > deadline:
            assert response.status_code == want, response.text
            return response.json()
        await asyncio.sleep(0.2)


def test_postgres_cut_and_stalled_make_readyz_name_the_store(pg_schema_url):
    url = make_url(pg_schema_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        settings = Settings(database_url=_through(pg_schema_url, proxy))

        async def scenario() -> None:
            async with running(settings) as run, run.client() as client:
                run.server.state.readiness.timeout_s = 1.0
                assert (await _ready(client, 200))["failing"] == []
                proxy.cut()
                body = await _ready(client, 503)
                assert "store" in body["failing"], body
                print("postgres cut:", body["parts"]["store"])
                assert (await client.get("/livez")).status_code == 200  # alive: restarting would not help
                proxy.resume()
                await _ready(client, 200)
                proxy.stall()
                body = await _ready(client, 503)
                assert body["parts"]["store"] == "not answering (timed out)", body
                print("postgres stalled:", body["parts"])
                proxy.resume()
                await _ready(client, 200)

        asyncio.run(scenario())


def test_redis_cut_makes_readyz_name_counters_and_events(tmp_path):
    host, port = _redis_or_skip()
    with TcpProxy(host, port) as proxy:
        redis_url = f"redis://127.0.0.1:{proxy.port}/0"
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", events_url=redis_url, counters_url=redis_url)

        async def scenario() -> None:
            async with running(settings) as run, run.client() as client:
                run.app.follow()  # subscribes the change-event listener
                assert (await _ready(client, 200))["failing"] == []
                proxy.cut()
                body = await _ready(client, 503)
                assert "counters" in body["failing"], body
                print("redis cut:", body["parts"])
                assert "store" not in body["failing"]
                proxy.resume()
                body = await _ready(client, 200)
                assert body["failing"] == []

        asyncio.run(scenario())


class _Group:
    def __init__(self, alive=True, failing=None, busy_since=None):
        self.alive, self.failing, self.busy_since = alive, failing, busy_since


def _readiness(group=None, latest=5, live=5, error=None, bus=None, clock=lambda: 100.0, **kw) -> Readiness:
    def latest_seq() -> int:
        if isinstance(latest, Exception):
            raise latest
        return latest

    parts = Parts(latest_seq, lambda: live, lambda: error, group or _Group(), bus)
    return Readiness(parts, clock=clock, **kw)


def test_each_part_is_named_when_it_fails():
    check = lambda r: asyncio.run(r.check())  # noqa: E731
    assert check(_readiness()) == (True, dict.fromkeys(("store", "audit", "events", "counters", "registry"), "ok"))
    ok, parts = check(_readiness(_Group(alive=False)))
    assert not ok and parts["audit"] == "the audit writer has stopped"
    ok, parts = check(_readiness(_Group(busy_since=90.0), stall_s=5.0))
    assert not ok and parts["audit"].startswith("an audit commit has not returned for 10.0 s")
    # a failed batch while the store answers again: the next batch is tried afresh, so still ready
    assert check(_readiness(_Group(failing=OSError("gone"))))[0]
    ok, parts = check(_readiness(_Group(failing=OSError("gone")), latest=OSError("refused")))
    assert not ok and parts["store"] == "OSError: refused" and parts["audit"].startswith("the last audit commit failed")
    ok, parts = check(_readiness(bus=SimpleNamespace(ready=False)))
    assert not ok and parts["events"] == "the change-event listener is not connected"
    ok, parts = check(_readiness(error=RuntimeError("policy rejected")))
    assert not ok and "policy rejected" in parts["registry"]


def test_a_snapshot_trailing_the_store_fails_only_after_the_allowed_lag():
    now = [0.0]
    readiness = _readiness(latest=9, live=5, clock=lambda: now[0], max_lag_s=10.0)
    assert asyncio.run(readiness.check())[0]  # behind, but only just
    now[0] = 11.0
    ok, parts = asyncio.run(readiness.check())
    assert not ok and "trailed the store" in parts["registry"]
