"""Another process sees what this one publishes: the point of Redis and PostgreSQL buses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from clearance.events import Event, make_bus

# The child subscribes, writes "ready", then one line per seq received; it exits after `count` or 15 s.
CHILD = """
import sys, threading, time
from clearance.events import make_bus
url, channel, out, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
done = threading.Event()
received = []
with open(out, "w", buffering=1) as f:
    def handler(event):
        received.append(event.seq)
        f.write(f"{event.seq}\\n")
        if len(received) >= count:
            done.set()
    bus = make_bus(url, channel=channel)
    bus.subscribe(handler)
    f.write("ready\\n" if bus.ready else "not-ready\\n")
    done.wait(15)
    bus.close()
"""


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize("transport", ["redis", "postgres"])
def test_a_child_process_receives_every_event_in_order(transport, channel, tmp_path, wait_until, require):
    url = require(transport)
    out = tmp_path / "received.txt"
    count = 50
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, channel, str(out), str(count)])
    bus = make_bus(url, channel=channel)
    try:
        assert wait_until(lambda: bool(lines(out)), timeout=20), "child did not start within 20 s"
        assert lines(out)[0] == "ready", f"child could not subscribe: {lines(out)}"
        for seq in range(1, count + 1):
            bus.publish(Event.now(seq, "licence.updated", f"LIC-{seq}"))
        assert wait_until(lambda: len(lines(out)) > count, timeout=10), f"child got {lines(out)[1:]}"
        assert [int(s) for s in lines(out)[1:]] == list(range(1, count + 1))
        assert child.wait(timeout=10) == 0
    finally:
        bus.close()
        if child.poll() is None:
            child.kill()
            child.wait(timeout=5)
