"""A writer process for the store tests (not a test module).

``python store_worker.py incr URL COUNT START``: from wall-clock instant START (seconds; so
every writer begins together), COUNT read-latest-then-append increments of the shared
counter, retrying on ConflictError; prints ``done RETRIES``.
``python store_worker.py stream URL LIMIT``: appends change pairs one transaction each and
prints each acknowledged first seq after ``append`` returns, until killed or LIMIT.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from store_testkit import COUNTER, open_sql, stream_body  # noqa: E402

from clearance.ports import Change, ConflictError  # noqa: E402


def increment(store, deadline: float) -> int:
    """One lost-update-proof increment; returns how many conflicts it retried."""
    retries = 0
    while time.monotonic() < deadline:
        history = store.history(*COUNTER)
        seen = history[-1].seq if history else None
        value = history[-1].body["value"] if history else 0
        change = Change(COUNTER[0], COUNTER[1], "put", {"value": value + 1}, 0, "worker", "increment")
        try:
            store.append([change], expect={COUNTER: seen})
            return retries
        except ConflictError:
            retries += 1
    raise TimeoutError("increment did not succeed before the deadline")


def wait_until(start: float) -> None:
    """Sleep until wall-clock ``start``, at most 10 s."""
    time.sleep(min(max(start - time.time(), 0.0), 10.0))


def main(mode: str, url: str, count: int, start: float) -> None:
    store = open_sql(url)
    store.latest_seq()  # connect before the start line
    deadline = time.monotonic() + 60
    if mode == "incr":
        wait_until(start)
        retries = sum(increment(store, deadline) for _ in range(count))
        print(f"done {retries}", flush=True)
        return
    for n in range(1, count + 1):
        if time.monotonic() > deadline:
            break
        body = stream_body(n)
        pair = [Change("stream", f"k{n}-{half}", "put", body, n, "crash-writer", "stream") for half in "ab"]
        records = store.append(pair)
        print(records[0].seq, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]) if len(sys.argv) > 4 else 0.0)
