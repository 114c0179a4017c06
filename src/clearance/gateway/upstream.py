"""Upstream model servers: any OpenAI-compatible or Anthropic Messages HTTP server, or the built-in demo model.

``HttpUpstream`` keeps one pooled aiohttp session per upstream, with connect and read
timeouts. aiohttp rather than httpx: on this hot path httpx cost 1.5 ms of CPU per call
(3.3 ms with 16 in flight, scanning its pool) against aiohttp's 0.2-0.3 ms, measured side
by side against the benchmark's mock upstream. A streamed reply is passed through chunk by
chunk; closing it early (the client went away) closes the upstream connection, which
cancels the upstream request. Upstream failures become ``UpstreamError`` with an HTTP
status for the client: 502 when the upstream could not be reached or broke off, 504 on a
timeout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

PASS_HEADERS = ("content-type", "retry-after", "x-request-id", "openai-processing-ms", "request-id")
# Headers a client of the Anthropic format may send that change what the upstream does.
ANTHROPIC_HEADERS = ("anthropic-version", "anthropic-beta")
ANTHROPIC_VERSION = "2023-06-01"


class UpstreamError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass
class UpstreamReply:
    """What an upstream answered: a status and either whole bytes or an async stream of bytes."""

    status: int
    content: bytes | AsyncIterator[bytes]
    stream: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    _response: aiohttp.ClientResponse | None = None

    async def aclose(self) -> None:
        if self._response is not None:
            # close(), not release(): a stream abandoned half way must not go back to the pool.
            self._response.close()
        elif self.stream and hasattr(self.content, "aclose"):
            await self.content.aclose()  # type: ignore[union-attr]


class Upstream(Protocol):
    name: str
    dialects: tuple[str, ...]  # the wire formats it answers

    async def send(self, path: str, body: dict[str, Any], raw: bytes, stream: bool,
                   headers: dict[str, str] | None = None) -> UpstreamReply: ...

    async def close(self) -> None: ...


class HttpUpstream:
    """A server at ``base_url`` (for example ``http://127.0.0.1:8000/v1``) speaking ``dialect``.

    An OpenAI-format server gets its key as a bearer token; an Anthropic-format one as
    ``x-api-key``, with an ``anthropic-version`` (the client's, else 2023-06-01).
    """

    def __init__(self, name: str, base_url: str, api_key: str | None = None, *, timeout_s: float = 120.0,
                 connect_timeout_s: float = 5.0, max_connections: int = 256, dialect: str = "openai") -> None:
        self.name = name
        self.dialects = (dialect,)
        self._base = base_url.rstrip("/")
        self._headers = {"content-type": "application/json"}
        if dialect == "anthropic":
            self._headers["anthropic-version"] = ANTHROPIC_VERSION
            if api_key:
                self._headers["x-api-key"] = api_key
        elif api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout_s, sock_read=timeout_s)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use: a session belongs to the event loop of the server process using it.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=self._max_connections)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, headers=self._headers,
                                                  auto_decompress=False)
        return self._session

    async def send(self, path: str, body: dict[str, Any], raw: bytes, stream: bool,
                   headers: dict[str, str] | None = None) -> UpstreamReply:
        try:
            response = await self._client().post(self._base + path, data=raw, headers=headers)
        except TimeoutError:
            raise UpstreamError(504, f"upstream `{self.name}` timed out") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(502, f"upstream `{self.name}` unreachable: {type(exc).__name__}") from None
        headers = {k.lower(): v for k, v in response.headers.items() if k.lower() in PASS_HEADERS}
        is_stream = stream and response.status == 200 and "text/event-stream" in response.headers.get("content-type", "")
        if is_stream:
            return UpstreamReply(response.status, self._chunks(response), True, headers, response)
        try:
            content = await response.read()
        except TimeoutError:
            raise UpstreamError(504, f"upstream `{self.name}` timed out") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(502, f"upstream `{self.name}` broke off: {type(exc).__name__}") from None
        finally:
            response.release()
        return UpstreamReply(response.status, content, False, headers)

    async def _chunks(self, response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.content.iter_any():
                yield chunk
        except TimeoutError:
            raise UpstreamError(504, f"upstream `{self.name}` timed out mid-stream") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(502, f"upstream `{self.name}` broke off mid-stream: {type(exc).__name__}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
