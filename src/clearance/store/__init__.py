"""Adapters for ``clearance.ports``: in-memory and SQL (SQLite, PostgreSQL) registry stores.

Only the composition root and tests choose among them; services see the Protocols.
"""

from __future__ import annotations

from .clock import FixedClock, SystemClock
from .memory import MemoryRegistry

__all__ = ["FixedClock", "MemoryRegistry", "SystemClock"]
