"""A listener whose connection is killed server-side comes back by itself (events sent meanwhile may be lost)."""

from __future__ import annotations

import contextlib

import pytest

from clearance.events import Event, make_bus


def kill_redis_clients(url: str, name: str) -> int:
    import redis

    admin = redis.Redis.from_url(url, socket_timeout=2)
    try:
        ids = [c["id"] for c in admin.client_list() if c.get("name") == name]
        for client_id in ids:
            admin.client_kill_filter(_id=client_id)
        return len(ids)
    finally:
        admin.close()


def kill_pg_backends(url: str, application_name: str) -> int:
    import psycopg

    from clearance.events.postgres_bus import conninfo

    with psycopg.connect(conninfo(url), autocommit=True, connect_timeout=2) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid()",
            (application_name,),
        ).fetchall()
    return len(rows)


@pytest.mark.parametrize("transport", ["redis", "postgres"])
def test_listener_reconnects_after_its_connection_is_killed(transport, channel, wait_until, require):
    url = require(transport)
    bus = make_bus(url, channel=channel)
    try:
        got: list[int] = []
        bus.subscribe(lambda e: got.append(e.seq))
        bus.publish(Event.now(1, "k", ""))
        assert wait_until(lambda: got == [1])
        if transport == "redis":
            killed = kill_redis_clients(url, f"clearance-events:{channel}")
        else:
            killed = kill_pg_backends(url, bus.application_name)
        assert killed >= 1
        # Publish until one gets through: the listener is back (and the publisher reconnected too).
        seq = 1
        while seq < 400 and not (got and got[-1] > 1):
            seq += 1
            with contextlib.suppress(Exception):  # the publisher's own connection may be the one just killed
                bus.publish(Event.now(seq, "k", ""))
            wait_until(lambda: bool(got) and got[-1] > 1, timeout=0.025)
        assert got[-1] > 1, "listener did not come back within ~10 s"
        assert got == sorted(got)
    finally:
        bus.close()
