"""Reading a writer process's acknowledgements, one per line, bounded in time (crash tests)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time


def read_acks(process: subprocess.Popen, wanted: int, seconds: float) -> list[int]:
    """Up to ``wanted`` integers the process printed, read for at most ``seconds``."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    acks: list[int] = []
    deadline = time.monotonic() + seconds
    while len(acks) < wanted and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            break
        if line is None:
            break
        acks.append(int(line))
    return acks


def acks_then_kill(command: list[str], wanted: int, seconds: float = 40) -> tuple[list[int], str]:
    """Run a writer, read up to ``wanted`` acknowledgements, then SIGKILL it: ``(acks, stderr)``.

    The writer is killed without warning, as a crash would: that it died of the signal is asserted here.
    """
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        acks = read_acks(process, wanted, seconds)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        stderr = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    return acks, stderr
