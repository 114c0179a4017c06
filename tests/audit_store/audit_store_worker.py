"""A writer process for the audit store tests (not a test module).

``python audit_store_worker.py append URL WORKER COUNT THREADS START``: from wall-clock
instant START (so writers begin together), THREADS threads append COUNT records in all
through one GroupCommitLog; prints ``done``.
``python audit_store_worker.py crash URL WORKER THREADS``: THREADS threads append until
killed (at most 60 s), printing each record's seq only after ``append`` returned (durable).
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from audit_store_kit import close, open_store, stream_body  # noqa: E402

from clearance.audit.group_commit import GroupCommitLog  # noqa: E402


def main(mode: str, url: str, worker: str, args: list[str]) -> None:
    store = open_store(url, migrated=True)
    store.size()  # connect before the start line
    log = GroupCommitLog(store)
    deadline = time.monotonic() + 60
    out = threading.Lock()
    counter = iter(range(10**9))
    take = threading.Lock()

    def next_n() -> int:
        with take:
            return next(counter)

    if mode == "append":
        count, threads, start = int(args[0]), int(args[1]), float(args[2])
        time.sleep(min(max(start - time.time(), 0.0), 10.0))

        def run() -> None:
            while time.monotonic() < deadline:
                n = next_n()
                if n >= count:
                    return
                log.append("monitoring", stream_body(worker, n), time.time_ns())
    else:
        threads = int(args[0])

        def run() -> None:
            while time.monotonic() < deadline:
                n = next_n()
                record = log.append("monitoring", stream_body(worker, n), time.time_ns())
                with out:
                    print(record.seq, flush=True)

    pool = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(70)
    log.close()
    close(store)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
