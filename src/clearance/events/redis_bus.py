"""Change events over Redis pub/sub.

One ``PUBLISH`` per event on a channel (default ``clearance:changes``); each
process runs one listener thread that feeds its subscribers. Redis pub/sub
keeps nothing for absent listeners, so a reconnect can miss events; see
:class:`~.watcher.Watcher` for the poll that recovers them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import redis

from .bus import Event, Handler
from .fanout import Fanout, QueueSubscription
from .listener import ReconnectingListener

DEFAULT_CHANNEL = "clearance:changes"


class RedisBus:
    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        channel: str = DEFAULT_CHANNEL,
        ready_timeout: float = 5.0,
        socket_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.channel = channel
        self._ready_timeout = ready_timeout
        self._socket_timeout = socket_timeout
        self._client = self._connect()
        self._fanout = Fanout()
        self._lock = threading.Lock()
        self._listener: ReconnectingListener | None = None
        self._closed = False

    def _connect(self) -> redis.Redis:
        return redis.Redis.from_url(
            self.url,
            socket_timeout=self._socket_timeout,
            socket_connect_timeout=self._socket_timeout,
            health_check_interval=10,
            client_name=f"clearance-events:{self.channel}",  # findable in CLIENT LIST
        )

    def publish(self, event: Event) -> None:
        """PUBLISH the event; raises ``redis.RedisError`` if Redis cannot be reached."""
        if self._closed:
            raise RuntimeError("event bus is closed")
        self._client.publish(self.channel, event.to_json())

    def subscribe(self, handler: Handler) -> QueueSubscription:
        """Subscribe; waits (up to ``ready_timeout``) until the listener is subscribed, so no later event is missed.

        If Redis is down the subscription is still returned; the listener keeps
        retrying and ``ready`` says whether it is connected.
        """
        if self._closed:
            raise RuntimeError("event bus is closed")
        with self._lock:
            if self._listener is None:
                self._listener = ReconnectingListener(
                    f"clearance-redis-{self.channel}", self._session, (redis.RedisError, OSError)
                )
                self._listener.start()
            listener = self._listener
        sub = self._fanout.add(handler)
        listener.wait_ready(self._ready_timeout)
        return sub

    @property
    def ready(self) -> bool:
        return self._listener is not None and self._listener.ready

    def _session(self, stop: threading.Event, ready: Callable[[], None]) -> None:
        client = self._connect()
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(self.channel)
            while not stop.is_set():
                message = pubsub.get_message(timeout=0.1)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    ready()
                elif message["type"] == "message":
                    self._fanout.deliver_payload(message["data"])
        finally:
            pubsub.close()
            client.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._listener is not None:
            self._listener.stop()
        self._fanout.close()
        self._client.close()

    def __enter__(self) -> RedisBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
