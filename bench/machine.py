"""How fast this machine runs Python, printed beside per-call timings so figures taken on different machines compare.

Sessions land on different hosts: the same guard artifact measured 0.31 ms at p50 on one and
0.80 ms on another whose CPU ran this loop 2.6 times slower. A per-call figure means little
without the machine's pace next to it.
"""

from __future__ import annotations

import time

LOOP = 10_000_000


def python_pace() -> float:
    """Seconds for a fixed pure-Python loop of LOOP integer additions, best of three (lower is faster)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(LOOP):
            total += i
        best = min(best, time.perf_counter() - started)
    return best


def pace_line() -> str:
    return f"machine pace: {python_pace():.2f} s for {LOOP:,} Python additions (one core; lower is faster)"
