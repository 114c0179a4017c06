"""Change events over PostgreSQL LISTEN/NOTIFY.

The payload is the event's JSON (NOTIFY caps payloads below 8000 bytes). NOTIFY
is transactional: sent inside the committing transaction it is delivered only
if, and right after, that transaction commits, which is the strongest ordering
we can get, so :meth:`PostgresBus.notify_sql` gives a store the statement to
run in its own transaction. :meth:`PostgresBus.publish` sends it on a separate
autocommit connection instead. The listener thread holds one autocommit
connection, LISTENs, and reads ``conn.notifies()`` in short slices so it can
stop promptly; like Redis, notifications sent while it is disconnected are lost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
from psycopg import sql

from .bus import Event
from .listener import ListeningBus

DEFAULT_CHANNEL = "clearance_changes"
MAX_PAYLOAD = 7999  # PostgreSQL's default limit is "shorter than 8000 bytes"
_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


def conninfo(url: str) -> str:
    """A libpq URL from an SQLAlchemy-style one: ``postgresql+psycopg://`` becomes ``postgresql://``."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    return f"postgresql://{rest}"


class PostgresBus(ListeningBus):
    _listener_errors = (psycopg.Error, OSError)

    def __init__(
        self,
        url: str,
        *,
        channel: str = DEFAULT_CHANNEL,
        ready_timeout: float = 5.0,
        connect_timeout: int = 5,
        read_slice: float = 0.1,
    ) -> None:
        self.conninfo = conninfo(url)
        self.channel = channel
        self.application_name = f"clearance-events:{channel}"[:63]
        self._listener_name = f"clearance-pg-{channel}"
        self._connect_timeout = connect_timeout
        self._read_slice = read_slice
        self._start_listening(ready_timeout)
        self._conn: psycopg.Connection | None = None

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(
            self.conninfo,
            autocommit=True,
            connect_timeout=self._connect_timeout,
            application_name=self.application_name,  # findable in pg_stat_activity
            **_KEEPALIVE,
        )

    def notify_sql(self, event: Event) -> tuple[str, tuple[str, str]]:
        """``(sql, params)`` that NOTIFY ``event``; run it in the committing transaction to publish on commit."""
        payload = event.to_json()
        if len(payload.encode()) > MAX_PAYLOAD:
            raise ValueError(f"event payload is {len(payload.encode())} bytes; NOTIFY allows {MAX_PAYLOAD}")
        return "SELECT pg_notify(%s, %s)", (self.channel, payload)

    def publish(self, event: Event) -> None:
        """NOTIFY on the bus's own connection; a broken connection is reopened once, then the error is raised."""
        self._check_open()
        statement, params = self.notify_sql(event)
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = self._connect()
                    self._conn.execute(statement, params)
                    return
                except psycopg.OperationalError:
                    if self._conn is not None:
                        self._conn.close()
                    self._conn = None
                    if attempt == 2:
                        raise

    def _session(self, stop: threading.Event, ready: Callable[[], None]) -> None:
        with self._connect() as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            ready()
            while not stop.is_set():
                for note in conn.notifies(timeout=self._read_slice):
                    self._fanout.deliver_payload(note.payload)

    def close(self) -> None:
        if self._stop_listening():
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
