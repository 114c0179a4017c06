"""Every bus keeps the same promises: delivery in order, to every subscriber, off the publisher's thread."""

from __future__ import annotations

import threading

import pytest

from clearance.events import Event, EventBus, MemoryBus, make_bus
from clearance.events.postgres_bus import PostgresBus, conninfo
from clearance.events.redis_bus import RedisBus


def test_event_json_round_trip():
    event = Event(seq=42, kind="licence.revoked", key="LIC-7", at_ns=1_700_000_000_000_000_000)
    assert Event.from_json(event.to_json()) == event
    assert Event.from_json(event.to_json().encode()) == event


@pytest.mark.parametrize(
    "payload", ["", "not json", "[1]", '{"seq": "1", "kind": "k", "key": "", "at_ns": 0}', '{"seq": true, "kind": "k", "key": "", "at_ns": 0}', '{"kind": "k"}']
)
def test_malformed_payloads_are_rejected(payload):
    with pytest.raises(ValueError):
        Event.from_json(payload)


def test_make_bus_chooses_by_scheme():
    for url in (None, "", "memory:"):
        bus = make_bus(url)
        assert isinstance(bus, MemoryBus)
        bus.close()
    assert conninfo("postgresql+psycopg://u@h:5432/db") == "postgresql://u@h:5432/db"
    assert conninfo("postgres://u@h/db") == "postgresql://u@h/db"
    with pytest.raises(ValueError, match="unknown change-event URL scheme"):
        make_bus("kafka://broker")


def test_adapters_are_lazy_about_connecting(channel):
    # Constructing a bus must not need the service: a gateway starts even when Redis or PostgreSQL is down.
    redis_bus = make_bus("redis://127.0.0.1:1/0", channel=channel)
    pg_bus = make_bus("postgresql+psycopg://nobody@127.0.0.1:1/none", channel=channel)
    assert isinstance(redis_bus, RedisBus) and isinstance(pg_bus, PostgresBus)
    redis_bus.close()
    pg_bus.close()


def test_notify_sql_is_a_parameterised_statement(channel):
    bus = PostgresBus("postgresql://x@127.0.0.1/none", channel=channel)
    statement, params = bus.notify_sql(Event(1, "k", "key", 0))
    assert statement == "SELECT pg_notify(%s, %s)"
    assert params[0] == channel and Event.from_json(params[1]) == Event(1, "k", "key", 0)
    with pytest.raises(ValueError, match="NOTIFY allows"):
        bus.notify_sql(Event(1, "k", "x" * 8000, 0))


def test_round_trip(bus: EventBus, wait_until):
    got: list[Event] = []
    bus.subscribe(got.append)
    sent = Event.now(1, "authorization.updated", "AUTH-1")
    bus.publish(sent)
    assert wait_until(lambda: len(got) == 1), "event not delivered within 5 s"
    assert got == [sent]


def test_a_burst_arrives_in_order(bus: EventBus, wait_until):
    got: list[int] = []
    bus.subscribe(lambda e: got.append(e.seq))
    for seq in range(1, 201):
        bus.publish(Event.now(seq, "k", f"key-{seq}"))
    assert wait_until(lambda: len(got) >= 200, timeout=10), f"only {len(got)} of 200 delivered"
    assert got == list(range(1, 201))


def test_every_subscriber_gets_every_event(bus: EventBus, wait_until):
    first: list[int] = []
    second: list[int] = []
    bus.subscribe(lambda e: first.append(e.seq))
    bus.subscribe(lambda e: second.append(e.seq))
    for seq in range(50):
        bus.publish(Event.now(seq, "k", ""))
    assert wait_until(lambda: len(first) >= 50 and len(second) >= 50)
    assert first == second == list(range(50))


def test_closing_a_subscription_stops_its_delivery(bus: EventBus, wait_until):
    closed: list[int] = []
    witness: list[int] = []
    sub = bus.subscribe(lambda e: closed.append(e.seq))
    bus.subscribe(lambda e: witness.append(e.seq))
    bus.publish(Event.now(1, "k", ""))
    assert wait_until(lambda: closed == [1] and witness == [1])
    sub.close()
    bus.publish(Event.now(2, "k", ""))
    bus.publish(Event.now(3, "k", ""))
    # Both subscriptions are fed at the same moment, so once the witness has 3 the closed one would have had 2.
    assert wait_until(lambda: witness == [1, 2, 3])
    assert closed == [1]


def test_closing_the_bus_stops_delivery_and_publishing(bus: EventBus, wait_until):
    got: list[int] = []
    bus.subscribe(lambda e: got.append(e.seq))
    bus.publish(Event.now(1, "k", ""))
    assert wait_until(lambda: got == [1])
    bus.close()
    bus.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        bus.publish(Event.now(2, "k", ""))
    assert got == [1]


def test_handlers_run_off_the_publishers_thread(bus: EventBus, wait_until):
    gate = threading.Event()
    seen: list[tuple[int, bool, str]] = []
    published_all = threading.Event()

    def slow(event: Event) -> None:
        if event.seq == 0:
            gate.wait(5)
        seen.append((event.seq, published_all.is_set(), threading.current_thread().name))

    bus.subscribe(slow)
    for seq in range(10):
        bus.publish(Event.now(seq, "k", ""))  # would block here on a synchronous bus
    published_all.set()
    gate.set()
    assert wait_until(lambda: len(seen) == 10)
    assert seen[0][1], "the publisher waited for a slow handler"
    assert all(name != threading.current_thread().name for _, _, name in seen)


def test_a_failing_handler_does_not_stop_delivery(bus: EventBus, wait_until, caplog):
    got: list[int] = []

    def flaky(event: Event) -> None:
        if event.seq == 1:
            raise RuntimeError("boom")
        got.append(event.seq)

    bus.subscribe(flaky)
    for seq in (1, 2, 3):
        bus.publish(Event.now(seq, "k", ""))
    assert wait_until(lambda: got == [2, 3])
    assert "event handler failed" in caplog.text
