"""Concurrent writers lose no update: read-latest, append with ``expect``, retry on conflict.

Threads share one store object; for SQL backends two more writer processes join them on
the same database, which is what several gateway or admin processes do in production.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from store_testkit import COUNTER, close, open_sql
from store_worker import increment, wait_until

from clearance.store.sql import migrate

WORKER = Path(__file__).with_name("store_worker.py")
THREADS = 6
PER_THREAD = 10


def run_threads(store, threads: int, per_thread: int, start: float = 0.0) -> tuple[list[BaseException], int]:
    """Run ``threads`` incrementing threads from wall-clock ``start``; their errors and retries."""
    errors: list[BaseException] = []
    retries: list[int] = []
    deadline = time.monotonic() + 45

    def work() -> None:
        wait_until(start)
        try:
            for _ in range(per_thread):
                retries.append(increment(store, deadline))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers), "a writer thread hung"
    return errors, sum(retries)


def final_value(store) -> int:
    history = store.history(*COUNTER)
    assert [r.body["value"] for r in history] == list(range(1, len(history) + 1))
    return history[-1].body["value"]


def test_threads_lose_no_update(registry):
    errors, _retries = run_threads(registry, THREADS, PER_THREAD)
    assert errors == []
    assert final_value(registry) == THREADS * PER_THREAD


def test_processes_and_threads_together_lose_no_update(database):
    migrate(database)
    per_process = 20
    start = time.time() + 2.0  # every writer, in every process, begins at this instant
    processes = [
        subprocess.Popen([sys.executable, str(WORKER), "incr", database, str(per_process), str(start)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    store = open_sql(database)
    try:
        errors, retries = run_threads(store, 2, per_process, start)
        outputs = []
        for process in processes:
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
            outputs.append(out)
        assert errors == []
        assert all(out.startswith("done ") for out in outputs)
        assert final_value(store) == 4 * per_process
        retries += sum(int(out.split()[1]) for out in outputs)
        print(f"conflicts retried: {retries}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        close(store)
