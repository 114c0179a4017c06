"""Registry listings kept between requests, brought up to date by the changes since, not re-read.

Listing 10,000 people must not read 10,000 rows per page view, nor after every registry
write: a listing is read once, then each request applies only the registry changes recorded
since (re-reading the current version of each key they touch). A change dated ahead takes
effect in the listing when it is next rebuilt (at most ``ttl_ns`` later); the record's own
page shows it at once.
"""

from __future__ import annotations

import bisect
import json
import threading
from typing import Any

NS = 1_000_000_000
TTL_NS = 300 * NS
PATCH_LIMIT = 1000  # more changes than this since the last look: read the listing afresh


def search_text(key: str, body: Any) -> str:
    return f"{key} {json.dumps(body)}".lower()


class Listing:
    """The records of one kind in force, sorted by key, each with its lower-cased search text."""

    def __init__(self, kind: str, service: Any, now: int, ttl_ns: int = TTL_NS) -> None:
        self.kind = kind
        self.ttl_ns = ttl_ns
        self.lock = threading.Lock()
        self._read(service, now)

    def _read(self, service: Any, now: int) -> None:
        self.seq = service.store.latest_seq()
        self.built = now
        found = sorted(service.state(now, kind=self.kind).items())
        self.keys = [k for (_, k), _ in found]
        self.items = [(k, r, search_text(k, r.body)) for (_, k), r in found]

    def current(self, service: Any, now: int) -> list[tuple[str, Any, str]]:
        """The listing as of now (the list is replaced, never changed in place, so callers may keep it)."""
        with self.lock:
            latest = service.store.latest_seq()
            if now - self.built > self.ttl_ns:
                self._read(service, now)
            elif latest != self.seq:
                changes = service.store.changes_since(self.seq)
                if len(changes) > PATCH_LIMIT:
                    self._read(service, now)
                else:
                    self._patch(service, {c.key for c in changes if c.kind == self.kind}, now)
                    self.seq = max([self.seq, *(c.seq for c in changes)])
            return self.items

    def _patch(self, service: Any, touched: set[str], now: int) -> None:
        if not touched:
            return
        keys, items = list(self.keys), list(self.items)
        for key in sorted(touched):
            record = service.current(self.kind, key, now)
            at = bisect.bisect_left(keys, key)
            present = at < len(keys) and keys[at] == key
            if record is None and present:
                del keys[at], items[at]
            elif record is not None:
                entry = (key, record, search_text(key, record.body))
                if present:
                    items[at] = entry
                else:
                    keys.insert(at, key)
                    items.insert(at, entry)
        self.keys, self.items = keys, items
