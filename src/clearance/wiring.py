"""The composition root: the one place that chooses implementations and connects them.

Interfaces (CLI, API, gateway) ask here for ready services; nothing else reads
settings or picks an adapter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .events import make_bus
from .events.bus import Event, EventBus
from .events.memory import MemoryBus
from .events.watcher import Watcher
from .ports import AuditStore, Clock, Record, RegistryStore
from .registry.live import LiveSnapshot
from .registry.service import RegistryService
from .settings import Settings, SettingsError
from .store.clock import SystemClock

if TYPE_CHECKING:
    from .gateway.meter import UsageMeter
    from .gateway.runtime import Gateway
    from .ports import ListSnapshotStore
    from .screening.service import ScreeningService
    from .services.audit_log import AuditLog

NS = 1_000_000_000
log = logging.getLogger(__name__)


def build_store(settings: Settings, clock: Clock) -> RegistryStore:
    """The registry store of ``settings.database_url``, migrated to the latest schema."""
    if settings.database_url.startswith("memory:"):
        from .store.memory import MemoryRegistry

        return MemoryRegistry(clock)
    from .store.sql.engine import make_engine
    from .store.sql.migrate import migrate
    from .store.sql.registry import SqlRegistry

    migrate(settings.database_url)
    return SqlRegistry(make_engine(settings.database_url), clock)


@dataclass
class Registry:
    """A registry service, the live snapshot it feeds, the change events, and their clock."""

    service: RegistryService
    live: LiveSnapshot
    clock: Clock
    bus: EventBus
    watcher: Watcher | None = None
    audit: AuditLog | None = None

    def follow(self, poll_interval: float | None = None) -> Watcher:
        """Keep ``live`` current with changes made by other processes (events, then polling)."""
        if self.watcher is None:
            interval = poll_interval if poll_interval is not None else _poll_interval(self)
            self.watcher = Watcher(self.bus, self.service.store.latest_seq, self._on_change, poll_interval=interval, since=self.live.seq)
            self.watcher.start()
        return self.watcher

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.bus.close()
        if self.audit is not None:
            self.audit.close()
        close = getattr(self.service.store, "close", None)
        if close is not None:
            close()

    def _on_change(self, _seq: int) -> int:
        self.live.refresh()
        return self.live.seq

    def publish(self, records: list[Record]) -> None:
        """After a commit: refresh this process's snapshot, then tell the others.

        A failed publish never undoes the commit; followers catch up by polling.
        """
        self.live.refresh()
        for record in records:
            try:
                self.bus.publish(Event.now(record.seq, record.kind, record.key))
            except Exception:  # noqa: BLE001 - the commit stands; polling covers a lost event
                log.warning("could not publish change %s; followers will catch up by polling", record.seq)


def build_registry(settings: Settings, clock: Clock | None = None, audited: bool = True) -> Registry:
    """The registry of ``settings``; ``audited``: every committed change is also appended to its audit log."""
    clock = clock or SystemClock()
    store = build_store(settings, clock)
    service = RegistryService(store, clock, settings.bundle, settings.backdate_grace_s * NS)
    built = Registry(service, LiveSnapshot(service, clock), clock, make_bus(settings.events_url))
    service.notify = built.publish
    if audited:
        from .services.audit_trail import record_changes

        built.audit = build_audit(settings, clock)
        service.observers.append(record_changes(built.audit))
    return built


def _poll_interval(registry: Registry) -> float:
    # Events do not cross processes on the in-process bus: a SQLite deployment's
    # followers rely on polling; `max(seq)` on the primary key is cheap, so poll often.
    return 0.05 if isinstance(registry.bus, MemoryBus) else 1.0


def build_audit(settings: Settings, clock: Clock | None = None) -> AuditLog:
    """The audit log of ``settings``: its store beside the registry's, and its key ring."""
    import tempfile
    from pathlib import Path

    from .audit.keys import KeyRing
    from .services.audit_log import AuditLog

    clock = clock or SystemClock()
    if settings.database_url.startswith("memory:"):
        from .store.audit_memory import MemoryAuditStore

        store: AuditStore = MemoryAuditStore()
    else:
        from .store.sql.audit import SqlAuditStore
        from .store.sql.engine import make_engine
        from .store.sql.migrate import migrate

        migrate(settings.database_url)
        store = SqlAuditStore(make_engine(settings.database_url))
    where = settings.audit_keys_dir()
    keys_dir = Path(where) if where is not None else Path(tempfile.mkdtemp(prefix="clearance-keys-"))
    keys = KeyRing.load(keys_dir) if (keys_dir / "keyring.json").exists() else KeyRing.create(keys_dir)
    return AuditLog(store, keys, clock)


def build_meter(settings: Settings, registry: Registry) -> UsageMeter:
    """Usage counters shared by every gateway process: Redis, else the registry database."""
    from .gateway.meter import BufferedMeter, MemoryMeter, RedisMeter, SqlMeter

    if settings.counters_url:
        if not settings.counters_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"CLEARANCE_COUNTERS_URL: `{settings.counters_url}` is not a redis:// URL")
        return BufferedMeter(RedisMeter(settings.counters_url))
    engine = getattr(registry.service.store, "engine", None)
    return BufferedMeter(SqlMeter(engine)) if engine is not None else MemoryMeter()


def build_gateway(settings: Settings, registry: Registry) -> Gateway:
    """The enforcing gateway over ``registry`` (which must be audited)."""
    from .gateway.config import load_config
    from .gateway.runtime import Gateway

    if registry.audit is None:
        raise SettingsError("the gateway needs an audited registry: no request may be served without its record")
    config = load_config(settings.gateway_config)
    return Gateway(registry.service, registry.live, registry.audit, build_meter(settings, registry), config, registry.clock)


def screening_for(service: RegistryService, audit: AuditLog | None = None) -> ScreeningService:
    """The screening service beside a running registry service (its database, or memory)."""
    engine = getattr(service.store, "engine", None)
    if engine is None:
        from .store.screening_memory import MemoryListStore

        lists: ListSnapshotStore = MemoryListStore(service.clock)
    else:
        from .store.sql.screening import SqlListStore

        lists = SqlListStore(engine, service.clock)
    return attach_screening(lists, service, audit)


def attach_screening(lists: ListSnapshotStore, service: RegistryService | None, audit: AuditLog | None) -> ScreeningService:
    from .screening.service import ScreeningService

    screening = ScreeningService(lists, service, audit)
    if service is not None:
        # One screening observer per registry service: a second would write every finding twice.
        service.observers[:] = [o for o in service.observers if not isinstance(getattr(o, "__self__", None), ScreeningService)]
        service.observers.append(screening.on_records)
    return screening
