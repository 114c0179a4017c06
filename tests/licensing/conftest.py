"""A registry, its live snapshot and an audit log, in memory, on a clock the tests move."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from clearance.audit.keys import KeyRing
from clearance.core.instant import parse_instant
from clearance.licensing.service import LicensingService
from clearance.registry.live import LiveSnapshot
from clearance.registry.service import RegistryService
from clearance.services.audit_log import AuditLog
from clearance.store.audit_memory import MemoryAuditStore
from clearance.store.clock import FixedClock
from clearance.store.memory import MemoryRegistry

NS = 1_000_000_000
DAY = 86_400 * NS
START = "2026-07-21T12:00:00Z"


def at(text: str) -> int:
    return int(parse_instant(text))


@dataclass
class World:
    clock: FixedClock
    registry: RegistryService
    live: LiveSnapshot
    audit: AuditLog
    licensing: LicensingService

    def days(self, n: float) -> None:
        self.clock.advance(int(n * DAY))


@pytest.fixture
def world(tmp_path, bundle_dir):
    clock = FixedClock(at(START))
    registry = RegistryService(MemoryRegistry(clock), clock, bundle_dir)
    live = LiveSnapshot(registry, clock)
    registry.notify = lambda records: live.refresh()
    audit = AuditLog(MemoryAuditStore(), KeyRing.create(tmp_path / "keys"), clock)
    yield World(clock, registry, live, audit, LicensingService(registry, live.current, audit, clock))
    audit.close()
