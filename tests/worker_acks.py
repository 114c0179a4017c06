"""Reading a writer process's acknowledgements, one per line, bounded in time (crash tests)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time


class _Acks:
    """The integers a process prints, one per line, pumped off its stdout by a thread."""

    def __init__(self, process: subprocess.Popen) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._pump = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._pump.start()
        self.seen: list[int] = []

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, wanted: int, seconds: float) -> None:
        """Read until ``wanted`` acknowledgements are seen, the output ends or ``seconds`` pass."""
        deadline = time.monotonic() + seconds
        while len(self.seen) < wanted and time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                return
            if line is None:
                return
            self.seen.append(int(line))

    def drain(self, seconds: float = 10) -> None:
        """After the process died: the acknowledgements it printed that were not read yet (its output has ended,
        so reading stops at the end of it)."""
        self._pump.join(timeout=seconds)
        self.wait_for(sys.maxsize, seconds)


def acks_then_kill(command: list[str], wanted: int, seconds: float = 40) -> tuple[list[int], str]:
    """Run a writer, wait for ``wanted`` acknowledgements, then SIGKILL it: ``(acks, stderr)``.

    The writer is killed without warning, as a crash would: that it died of the signal is asserted here.
    The writer goes on committing while the parent reads and kills, so ``acks`` is every acknowledgement
    it printed before it died (``wanted`` or more), not only the ones read before the kill: a change it
    acknowledged after the parent stopped reading is as durable a promise as any other.
    """
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acks = _Acks(process)
    try:
        acks.wait_for(wanted, seconds)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        acks.drain()
        stderr = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    return acks.seen, stderr
