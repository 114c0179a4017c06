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

from .bus import Event
from .listener import ListeningBus

DEFAULT_CHANNEL = "clearance:changes"


class RedisBus(ListeningBus):
    _listener_errors = (redis.RedisError, OSError)

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
        self._listener_name = f"clearance-redis-{channel}"
        self._socket_timeout = socket_timeout
        self._start_listening(ready_timeout)
        self._client = self._connect()

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
        self._check_open()
        self._client.publish(self.channel, event.to_json())

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
        if self._stop_listening():
            self._client.close()
