"""The Watcher: events wake it, bursts coalesce, polling recovers what the bus lost."""

from __future__ import annotations

import threading

from clearance.events import Event, EventBus, MemoryBus, Watcher


class Store:
    """A stand-in for the registry's change counter."""

    def __init__(self, seq: int = 0) -> None:
        self.seq = seq
        self.reads = 0

    def latest_seq(self) -> int:
        self.reads += 1
        return self.seq


def test_an_event_wakes_the_watcher_long_before_its_poll(bus: EventBus, wait_until):
    store, calls = Store(), []
    # With a 60 s poll interval only the event can explain a call within the 5 s wait.
    with Watcher(bus, store.latest_seq, calls.append, poll_interval=60):
        assert wait_until(lambda: store.reads >= 1)  # the start-up poll is done; the next is a minute away
        store.seq = 3
        bus.publish(Event.now(3, "k", ""))
        assert wait_until(lambda: calls == [3]), f"calls: {calls}"


def test_a_burst_during_on_change_coalesces_into_one_more_call(wait_until):
    bus, store = MemoryBus(), Store()
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def on_change(seq: int) -> None:
        calls.append(seq)
        entered.set()
        release.wait(5)

    watcher = Watcher(bus, store.latest_seq, on_change, poll_interval=60).start()
    try:
        bus.publish(Event.now(1, "k", ""))
        assert entered.wait(5)
        for seq in range(2, 51):
            bus.publish(Event.now(seq, "k", ""))
        assert wait_until(lambda: watcher.pending == 50)
        release.set()
        assert wait_until(lambda: watcher.seen == 50)
        assert calls == [1, 50]
    finally:
        release.set()
        watcher.stop()
        bus.close()


def test_polling_catches_up_when_no_event_is_delivered(wait_until):
    bus, store, calls = MemoryBus(), Store(), []
    # Nothing is ever published: a dropped NOTIFY, a Redis outage, or another process writing to SQLite.
    with Watcher(bus, store.latest_seq, calls.append, poll_interval=0.02) as watcher:
        store.seq = 7
        assert wait_until(lambda: calls == [7]), f"calls: {calls}"
        store.seq = 9
        assert wait_until(lambda: calls == [7, 9]), f"calls: {calls}"
        assert watcher.seen == 9
    bus.close()


def test_the_first_poll_runs_at_start_and_since_is_respected(wait_until):
    bus = MemoryBus()
    calls: list[int] = []
    current = Store(5)
    # Polling often: once a second poll has begun, whatever the first one found has been acted on.
    with Watcher(bus, current.latest_seq, calls.append, poll_interval=0.01, since=5):
        assert wait_until(lambda: current.reads >= 2)
    assert calls == []  # already current: no rebuild
    with Watcher(bus, Store(8).latest_seq, calls.append, poll_interval=60, since=5):
        assert wait_until(lambda: calls == [8])  # a change between snapshot and subscribe is not missed
    bus.close()


def test_stale_and_duplicate_events_are_ignored(wait_until):
    bus, calls = MemoryBus(), []
    with Watcher(bus, Store().latest_seq, calls.append, poll_interval=60) as watcher:
        for seq in (4, 4, 2, 3):
            bus.publish(Event.now(seq, "k", ""))
        bus.publish(Event.now(5, "k", ""))
        assert wait_until(lambda: watcher.seen == 5)
    assert calls in ([4, 5], [5])  # never an older seq, never the same one twice
    bus.close()


def test_a_returned_seq_spares_a_second_rebuild(wait_until):
    bus, store, calls = MemoryBus(), Store(), []

    def rebuild(seq: int) -> int:
        calls.append(seq)
        return store.seq  # the rebuild read the store, which was already at 10

    with Watcher(bus, store.latest_seq, rebuild, poll_interval=60) as watcher:
        assert wait_until(lambda: store.reads >= 1)
        store.seq = 10
        bus.publish(Event.now(8, "k", ""))
        assert wait_until(lambda: watcher.seen == 10)
        bus.publish(Event.now(10, "k", ""))  # already covered
        bus.publish(Event.now(11, "k", ""))
        assert wait_until(lambda: watcher.seen == 11)
    assert calls == [8, 11]
    bus.close()


def test_a_failed_on_change_is_retried(wait_until, caplog):
    bus, calls = MemoryBus(), []

    def on_change(seq: int) -> None:
        calls.append(seq)
        if len(calls) == 1:
            raise RuntimeError("store unavailable")

    with Watcher(bus, Store().latest_seq, on_change, poll_interval=0.02) as watcher:
        bus.publish(Event.now(1, "k", ""))
        assert wait_until(lambda: watcher.seen == 1)
    assert calls == [1, 1]
    assert "applying registry change 1 failed" in caplog.text
    bus.close()


def test_a_failing_latest_seq_does_not_stop_the_watcher(wait_until, caplog):
    bus, store, calls = MemoryBus(), Store(), []
    broken = [True]

    def latest_seq() -> int:
        if broken[0]:
            raise ConnectionError("store down")
        return store.latest_seq()

    with Watcher(bus, latest_seq, calls.append, poll_interval=0.02):
        assert wait_until(lambda: "polling the registry's version failed" in caplog.text)
        store.seq, broken[0] = 4, False
        assert wait_until(lambda: calls == [4])
    bus.close()


def test_stop_is_bounded_and_final(wait_until):
    bus, calls = MemoryBus(), []
    release = threading.Event()

    def stuck(seq: int) -> None:
        calls.append(seq)
        release.wait(60)  # far longer than the test waits for stop: only giving up lets stop return

    watcher = Watcher(bus, Store().latest_seq, stuck, poll_interval=60).start()
    bus.publish(Event.now(1, "k", ""))
    assert wait_until(lambda: calls == [1])
    stopper = threading.Thread(target=watcher.stop, kwargs={"timeout": 0.2})
    stopper.start()
    stopper.join(30)  # on_change is stuck: stop gives up waiting rather than hang
    assert not stopper.is_alive()
    release.set()
    probe: list[int] = []
    subscription = bus.subscribe(lambda event: probe.append(event.seq))
    bus.publish(Event.now(2, "k", ""))
    assert wait_until(lambda: probe == [2])  # the bus delivered it: a watcher still subscribed would have it
    subscription.close()
    assert calls == [1] and watcher.pending == 1
    bus.close()


class Down(Store):
    """A store that fails every read until ``up`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.up = threading.Event()

    def latest_seq(self) -> int:
        self.reads += 1
        if not self.up.is_set():
            raise ConnectionError("connection refused\nsecond line of detail")
        return self.seq


def test_an_unreachable_store_is_logged_once_then_summarised_and_its_recovery_once(caplog, wait_until):
    store = Down()
    caplog.set_level("WARNING", logger="clearance.events.watcher")
    with Watcher(MemoryBus(), store.latest_seq, lambda seq: None, poll_interval=0.001, report_every_s=3600) as watcher:
        assert wait_until(lambda: watcher.failures.count >= 5)
        failing = [r for r in caplog.records if r.name == "clearance.events.watcher"]
        assert len(failing) == 1 and failing[0].exc_info is not None  # one traceback, not one per poll
        store.up.set()
        assert wait_until(lambda: watcher.failures.count == 0)
    lines = [r.getMessage() for r in caplog.records if r.name == "clearance.events.watcher"]
    assert len(lines) == 2 and "works again after" in lines[1]
