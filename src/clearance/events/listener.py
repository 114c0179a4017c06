"""A socket listener thread that reconnects, with bounded exponential backoff.

Redis and PostgreSQL listeners share this loop: connect, subscribe, report
ready, read until told to stop. When the connection breaks the thread waits
(50 ms, doubling, at most ``max_backoff``) and reconnects forever; what was
published meanwhile is lost, which the Watcher's poll makes up for.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .bus import Handler
from .fanout import Fanout, QueueSubscription

log = logging.getLogger(__name__)

# session(stop, ready): connect, subscribe, call ready(), read until stop is set; raise on a broken connection.
Session = Callable[[threading.Event, Callable[[], None]], None]


class ReconnectingListener:
    def __init__(
        self,
        name: str,
        session: Session,
        errors: tuple[type[BaseException], ...],
        *,
        min_backoff: float = 0.05,
        max_backoff: float = 2.0,
    ) -> None:
        self._session = session
        self._errors = errors
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.connects = 0
        self.last_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def ready(self) -> bool:
        """True while subscribed: events published now will be received."""
        return self._ready.is_set()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def _mark_ready(self) -> None:
        self.connects += 1
        self._ready.set()

    def _run(self) -> None:
        backoff = self._min_backoff
        while not self._stop.is_set():
            try:
                self._session(self._stop, self._mark_ready)
            except self._errors as exc:
                self.last_error = exc
                log.warning("change-event listener disconnected (%s); retrying in %.2fs", exc, backoff)
            except Exception as exc:  # noqa: BLE001 - keep listening whatever goes wrong; it is logged
                self.last_error = exc
                log.exception("change-event listener failed; retrying in %.2fs", backoff)
            was_ready = self._ready.is_set()
            self._ready.clear()
            if was_ready:
                backoff = self._min_backoff  # a session that got going resets the backoff
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, self._max_backoff)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)


class ListeningBus:
    """What the Redis and PostgreSQL buses share: one listener thread per process feeding a fanout.

    A subclass sets ``_listener_name`` and ``_listener_errors`` (the errors after
    which the listener reconnects), calls :meth:`_start_listening` from its
    constructor, implements ``_session(stop, ready)``, and closes its own
    connections after :meth:`_stop_listening` returns ``True``.
    """

    _listener_name: str
    _listener_errors: tuple[type[BaseException], ...]

    def _start_listening(self, ready_timeout: float) -> None:
        self._ready_timeout = ready_timeout
        self._fanout = Fanout()
        self._lock = threading.Lock()
        self._listener: ReconnectingListener | None = None
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("event bus is closed")

    def subscribe(self, handler: Handler) -> QueueSubscription:
        """Subscribe; waits (up to ``ready_timeout``) until the listener is live, so no later event is missed.

        If the server is down the subscription is still returned; the listener
        keeps retrying and ``ready`` says whether it is connected.
        """
        self._check_open()
        with self._lock:
            if self._listener is None:
                self._listener = ReconnectingListener(self._listener_name, self._session, self._listener_errors)
                self._listener.start()
            listener = self._listener
        sub = self._fanout.add(handler)
        listener.wait_ready(self._ready_timeout)
        return sub

    @property
    def ready(self) -> bool:
        return self._listener is not None and self._listener.ready

    def _session(self, stop: threading.Event, ready: Callable[[], None]) -> None:
        raise NotImplementedError

    def _stop_listening(self) -> bool:
        """Stop the listener and the fanout; ``False`` when the bus was already closed."""
        if self._closed:
            return False
        self._closed = True
        if self._listener is not None:
            self._listener.stop()
        self._fanout.close()
        return True

    def __enter__(self):  # noqa: ANN204 - returns the subclass
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop_listening()
