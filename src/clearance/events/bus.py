"""The change-event contract: what an event is and what every bus promises.

An event is a *hint*, not a record: "the registry changed, up to change number
``seq``". Handlers re-read state from the store instead of applying the event,
which is what makes a lost or duplicated notification harmless. Delivery to a
live subscriber is in publish order per publisher, and each adapter retries
its connection, so in practice every event arrives (possibly more than once).
But pub/sub (Redis, PostgreSQL NOTIFY) drops what is published while a
listener is disconnected, so correctness rests on :class:`~.watcher.Watcher`,
which pairs the bus with a poll of the store's latest ``seq``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Event:
    """One committed change. ``at_ns`` is the publisher's wall clock, for measuring lag across processes."""

    seq: int
    kind: str
    key: str
    at_ns: int

    @classmethod
    def now(cls, seq: int, kind: str, key: str = "") -> Event:
        return cls(seq=seq, kind=kind, key=key, at_ns=time.time_ns())

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        """Parse a payload; anything malformed raises ``ValueError`` (listeners log and skip it)."""
        try:
            data = json.loads(text)
        except (TypeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"event payload is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("event payload is not a JSON object")
        fields = {"seq": int, "kind": str, "key": str, "at_ns": int}
        for name, kind in fields.items():
            value = data.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(f"event payload: `{name}` missing or not {kind.__name__}")
        return cls(**{name: data[name] for name in fields})


Handler = Callable[[Event], None]


@runtime_checkable
class Subscription(Protocol):
    def close(self) -> None:
        """Stop delivery; once it returns the handler is not called again (unless closed from inside it)."""


@runtime_checkable
class EventBus(Protocol):
    def publish(self, event: Event) -> None:
        """Send ``event`` to every live subscriber, in any process on the same bus. May raise if unreachable."""

    def subscribe(self, handler: Handler) -> Subscription:
        """Call ``handler`` (on a bus thread, never the publisher's) for each event published from now on."""

    def close(self) -> None:
        """Close every subscription and connection. Idempotent."""
