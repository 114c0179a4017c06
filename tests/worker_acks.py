"""Reading a writer process's acknowledgements, one per line, bounded in time (crash tests)."""

from __future__ import annotations

import queue
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
