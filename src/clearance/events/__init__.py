"""Change events: publish every committed registry change, and let any process follow them.

``make_bus(url)`` picks the transport from the URL (``CLEARANCE_EVENTS_URL``):

| url | bus |
|---|---|
| ``None``, ``""``, ``memory:`` | :class:`MemoryBus`, this process only |
| ``redis://…``, ``rediss://…`` | :class:`~.redis_bus.RedisBus`, Redis pub/sub |
| ``postgresql://…``, ``postgresql+psycopg://…`` | :class:`~.postgres_bus.PostgresBus`, LISTEN/NOTIFY |

Events are hints ("changed up to seq N"); follow them with :class:`Watcher`,
which also polls the store so that a lost notification only delays a change.
The Redis and PostgreSQL adapters are imported on demand, so their client
libraries are needed only when used.
"""

from __future__ import annotations

from .bus import Event, EventBus, Handler, Subscription
from .memory import MemoryBus
from .watcher import Watcher

__all__ = ["Event", "EventBus", "Handler", "MemoryBus", "Subscription", "Watcher", "make_bus"]


def make_bus(url: str | None = None, *, channel: str | None = None) -> EventBus:
    """The bus for ``url``; ``channel`` overrides the default channel name (tests use one per run)."""
    if url is None or url.strip() in ("", "memory:", "memory://"):
        return MemoryBus()
    scheme = url.partition(":")[0].lower()
    options = {} if channel is None else {"channel": channel}
    if scheme in ("redis", "rediss", "unix"):
        from .redis_bus import RedisBus

        return RedisBus(url, **options)
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        from .postgres_bus import PostgresBus

        return PostgresBus(url, **options)
    raise ValueError(f"unknown change-event URL scheme {scheme!r}: use memory:, redis:// or postgresql://")
