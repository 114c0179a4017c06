"""The composition root: the one place that chooses implementations and connects them.

Interfaces (CLI, API, gateway) ask here for a ready :class:`App` and use its services;
nothing else reads settings or picks an adapter. An ``App`` is a context manager: leaving
it stops the change watcher, writes what the audit log has pending and closes every store.
One ``App`` per process means one audit writer per process.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from .events import make_bus
from .events.bus import Event, EventBus
from .events.memory import MemoryBus
from .events.watcher import Watcher
from .observability import metrics
from .observability.health import Parts, Readiness
from .ports import AuditStore, Clock, Record, RegistryStore
from .registry.live import LiveSnapshot
from .registry.service import RegistryService
from .settings import Settings, SettingsError
from .store.clock import SystemClock

if TYPE_CHECKING:
    from .enforcement import Enforcer
    from .enforcement.counters import UsageCounters
    from .gateway.runtime import Gateway
    from .guardrails.policy import Guards
    from .licensing.service import LicensingService
    from .ports import ListSnapshotStore
    from .screening.service import ScreeningService
    from .services.audit_log import AuditLog

NS = 1_000_000_000
log = logging.getLogger(__name__)


@dataclass
class App:
    """Everything one process runs on: registry, live snapshot, events, audit log and the services over them."""

    service: RegistryService
    live: LiveSnapshot
    clock: Clock
    bus: EventBus
    audit: AuditLog | None = None
    engine: Engine | None = None
    counters_url: str | None = None
    redis_namespace: str = "clearance"  # prefix of the Redis keys and channel this deployment uses
    watcher: Watcher | None = None
    _screening: ScreeningService | None = field(default=None, repr=False)
    _licensing: LicensingService | None = field(default=None, repr=False)
    _enforcer: Enforcer | None = field(default=None, repr=False)
    _lag: Any = field(default=None, repr=False)

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def screening(self) -> ScreeningService:
        """Restricted-party screening over this registry (built on first use, observing every write)."""
        if self._screening is None:
            self._screening = _screening(self)
        return self._screening

    @property
    def licensing(self) -> LicensingService:
        if self._licensing is None:
            from .licensing.service import LicensingService

            self._licensing = LicensingService(self.service, self.live.current, self.audit, self.clock)
        return self._licensing

    @property
    def enforcer(self) -> Enforcer:
        """The enforcement path (needs an audit log: nothing is decided on anyone's behalf unrecorded)."""
        if self._enforcer is None:
            self._enforcer = _enforcer(self)
        return self._enforcer

    def follow(self, poll_interval: float | None = None) -> Watcher:
        """Keep ``live`` current with changes made by other processes (events, then polling)."""
        if self.watcher is None:
            interval = poll_interval if poll_interval is not None else (0.05 if isinstance(self.bus, MemoryBus) else 1.0)
            self.watcher = Watcher(self.bus, self.service.store.latest_seq, self._on_change, poll_interval=interval,
                                   since=self.live.seq)
            self.watcher.start()
            self._lag = self.bus.subscribe(_event_lag)
            metrics.REGISTRY_SEQ.set(self.live.seq)
        return self.watcher

    def readiness(self, max_lag_s: float = 10.0) -> Readiness:
        """This process's readiness probe over its parts (see :mod:`clearance.observability.health`)."""
        if self.audit is None:
            raise SettingsError("readiness needs an audited application")
        ping = getattr(self.enforcer.counters, "ping", None)
        live = self.live
        parts = Parts(self.service.store.latest_seq, lambda: live.seq, lambda: live.error, self.audit.group, self.bus,
                      ping)
        return Readiness(parts, max_lag_s=max_lag_s)

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
        metrics.REGISTRY_SEQ.set(self.live.seq)
        return self.live.seq

    def publish(self, records: list[Record]) -> None:
        """After a commit: refresh this process's snapshot, then tell the others.

        A failed publish never undoes the commit; followers catch up by polling, and every
        call checks the registry's version before it is decided (``enforcement.freshness``).
        """
        self.live.refresh()
        metrics.REGISTRY_SEQ.set(self.live.seq)
        for record in records:
            try:
                self.bus.publish(Event.now(record.seq, record.kind, record.key))
            except Exception:  # noqa: BLE001 - the commit stands; polling covers a lost event
                log.warning("could not publish change %s; followers will catch up by polling", record.seq)

    def observe(self, records: list[Record]) -> None:
        """Registry observers, wired once here: screening rescreens what a write changed."""
        if self._screening is not None:
            self._screening.on_records(records)


def _event_lag(event: Event) -> None:
    # Publisher and listener clocks may differ (other hosts): a negative lag is shown as none.
    metrics.EVENT_LAG.observe(max(0.0, (time.time_ns() - event.at_ns) / NS))


def build_app(settings: Settings, clock: Clock | None = None, audited: bool = True) -> App:
    """The application of ``settings``; ``audited``: every registry change commits with its audit record."""
    clock = clock or SystemClock()
    engine = _engine(settings)
    audit = _audit(settings, clock, engine) if audited else None
    journal = None
    if audit is not None:
        from .services.audit_trail import change_entries

        journal = change_entries
    store = _registry_store(engine, clock, audit.store if audit is not None else None, journal)
    app: App | None = None

    def notify(records: list[Record]) -> None:
        assert app is not None
        app.publish(records)
        app.observe(records)

    service = RegistryService(store, clock, settings.bundle, settings.backdate_grace_s * NS, notify=notify)
    bus = make_bus(settings.events_url, channel=f"{settings.redis_namespace}:changes"
                   if settings.events_url.startswith(("redis://", "rediss://", "unix://")) else None)
    app = App(service, LiveSnapshot(service, clock), clock, bus, audit, engine, settings.counters_url,
              settings.redis_namespace)
    return app


def compose(service: RegistryService, live: LiveSnapshot, audit: AuditLog | None = None,
            counters_url: str | None = None) -> App:
    """An :class:`App` over parts already made (tests, embedding): they are wired as ``build_app`` wires them."""
    app = App(service, live, live.clock, MemoryBus(), audit, getattr(service.store, "engine", None), counters_url)
    previous = service.notify

    def notify(records: list[Record]) -> None:
        if previous is not None:
            previous(records)
        else:
            live.refresh()
        app.observe(records)

    service.notify = notify
    return app


def build_audit(settings: Settings, clock: Clock | None = None) -> AuditLog:
    """The audit log of ``settings`` alone (the audit CLI): its store and its key ring."""
    return _audit(settings, clock or SystemClock(), _engine(settings))


def build_gateway(settings: Settings, app: App, guards: Guards | None = None) -> Gateway:
    """The enforcing gateway over ``app`` (which must be audited), judging calls with ``guards``.

    Without ``guards``, the shipped trained guards judge calls unless ``settings.guards`` is
    ``off``; the policy's `guardrails` rules say what their verdicts do.
    """
    from .gateway.config import load_config
    from .gateway.runtime import Gateway

    if guards is None and settings.guards == "trained":
        guards = _trained_guards(settings.guard_scan == "full")
    gateway = Gateway(app.enforcer, load_config(settings.gateway_config), app.clock, guards)
    if gateway.guards is None and "guardrails" in dict(app.live.current().policy.meta):
        log.warning("the policy has `guardrails` rules but the gateway has no guard: they are not applied, "
                    "and permits with a `guardrail` obligation are refused")
    return gateway


# -- adapters, chosen by configuration -------------------------------------------------------


def _trained_guards(full_scan: bool) -> Guards:
    """The shipped guards; the full-scan pair serves plans that say `scan: full` (and every plan with
    ``CLEARANCE_GUARD_SCAN=full``); the contextual guards, plans that say `reading: contextual`
    (loaded on first use; where the sentence encoder is not installed, such calls are refused)."""
    from .guardrails import load_default
    from .guardrails.contextual import LazyContextualGuard
    from .guardrails.policy import Guards

    full = load_default(True)
    return Guards(*(full if full_scan else load_default(False)), *full,
                  LazyContextualGuard(full_scan), LazyContextualGuard(True))


def _engine(settings: Settings) -> Engine | None:
    if settings.in_memory:
        return None
    from .store.sql.engine import make_engine
    from .store.sql.migrate import migrate

    migrate(settings.database_url)
    return make_engine(settings.database_url)


def _registry_store(engine: Engine | None, clock: Clock, audit_store: AuditStore | None, journal: Any) -> RegistryStore:
    if engine is None:
        from .store.memory import MemoryRegistry

        return MemoryRegistry(clock, audit_store, journal)
    from .store.sql.registry import SqlRegistry

    return SqlRegistry(engine, clock, audit_store, journal)


def _audit(settings: Settings, clock: Clock, engine: Engine | None) -> AuditLog:
    import tempfile
    from pathlib import Path

    from .audit.keys import KeyRing
    from .services.audit_log import AuditLog

    if engine is None:
        from .store.audit_memory import MemoryAuditStore

        store: AuditStore = MemoryAuditStore()
    else:
        from .store.sql.audit import SqlAuditStore

        store = SqlAuditStore(engine)
    where = settings.audit_keys_dir()
    keys_dir = Path(where) if where is not None else Path(tempfile.mkdtemp(prefix="clearance-keys-"))
    keys = KeyRing.load(keys_dir) if (keys_dir / "keyring.json").exists() else KeyRing.create(keys_dir)
    audit = AuditLog(store, keys, clock, origin=settings.audit_origin)
    audit.group.on_commit = metrics.audit_committed
    audit.group.on_failure = metrics.audit_failed
    return audit


def _counters(app: App) -> UsageCounters:
    """Usage counters shared by every gateway process: Redis, else the registry database, else memory."""
    from .enforcement.counters import MemoryCounters, RedisCounters, SqlCounters

    url = app.counters_url
    if url:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"CLEARANCE_COUNTERS_URL: `{url}` is not a redis:// URL")
        return RedisCounters(url, prefix=f"{app.redis_namespace}:usage:")
    return SqlCounters(app.engine) if app.engine is not None else MemoryCounters()


def _enforcer(app: App) -> Enforcer:
    from .enforcement import Enforcer, Identities
    from .enforcement.freshness import Freshness

    if app.audit is None:
        raise SettingsError("enforcement needs an audited registry: no request may be decided without its record")
    live = app.live
    # A SQLite read of max(seq) takes microseconds and never waits on a writer (WAL): cheaper
    # inline than the thread hop. A PostgreSQL round trip goes to a thread.
    offload = app.engine is not None and app.engine.dialect.name != "sqlite"
    freshness = Freshness(app.service.store.latest_seq, lambda: live.seq, live.refresh, offload=offload)
    return Enforcer(live, app.audit, _counters(app), freshness, Identities(app.service, live))


def _screening(app: App) -> ScreeningService:
    from .screening.service import ScreeningService

    lists: ListSnapshotStore
    if app.engine is None:
        from .store.screening_memory import MemoryListStore

        lists = MemoryListStore(app.clock)
    else:
        from .store.sql.screening import SqlListStore

        lists = SqlListStore(app.engine, app.clock)
    return ScreeningService(lists, app.service, app.audit)


def attach_screening(lists: ListSnapshotStore, service: RegistryService | None, audit: AuditLog | None) -> ScreeningService:
    """Screening over given parts (tests): it observes ``service``'s writes, once."""
    from .screening.service import ScreeningService

    screening = ScreeningService(lists, service, audit)
    if service is not None:
        service.observers[:] = [o for o in service.observers if not isinstance(getattr(o, "__self__", None), ScreeningService)]
        service.observers.append(screening.on_records)
    return screening
