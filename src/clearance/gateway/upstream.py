"""Upstream model servers: any OpenAI-compatible HTTP server, or the built-in demo model.

``HttpUpstream`` keeps one pooled ``httpx.AsyncClient`` per upstream, with connect, read and
pool timeouts. A streamed reply is passed through chunk by chunk; closing it (the client went
away, or the gateway is done) closes the upstream response, which cancels the upstream
request. Upstream failures become ``UpstreamError`` with an HTTP status for the client:
502 when the upstream could not be reached or answered garbage, 504 on a timeout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

PASS_HEADERS = ("content-type", "retry-after", "x-request-id", "openai-processing-ms")


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
    _response: httpx.Response | None = None

    async def aclose(self) -> None:
        if self._response is not None:
            await self._response.aclose()
        elif self.stream and hasattr(self.content, "aclose"):
            await self.content.aclose()  # type: ignore[union-attr]


class Upstream(Protocol):
    name: str

    async def send(self, path: str, body: dict[str, Any], raw: bytes, stream: bool) -> UpstreamReply: ...

    async def close(self) -> None: ...


class HttpUpstream:
    """An OpenAI-compatible server at ``base_url`` (for example ``http://127.0.0.1:8000/v1``)."""

    def __init__(self, name: str, base_url: str, api_key: str | None = None, *, timeout_s: float = 120.0,
                 connect_timeout_s: float = 5.0, max_connections: int = 256) -> None:
        self.name = name
        headers = {"content-type": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s, pool=connect_timeout_s),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    async def send(self, path: str, body: dict[str, Any], raw: bytes, stream: bool) -> UpstreamReply:
        request = self._client.build_request("POST", path, content=raw)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise UpstreamError(504, f"upstream `{self.name}` timed out: {type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(502, f"upstream `{self.name}` unreachable: {type(exc).__name__}") from None
        headers = {k: v for k, v in response.headers.items() if k.lower() in PASS_HEADERS}
        is_stream = stream and response.status_code == 200 and "text/event-stream" in response.headers.get("content-type", "")
        if is_stream:
            return UpstreamReply(response.status_code, self._chunks(response), True, headers, response)
        try:
            content = await response.aread()
        except httpx.HTTPError as exc:
            raise UpstreamError(502, f"upstream `{self.name}` broke off: {type(exc).__name__}") from None
        finally:
            await response.aclose()
        return UpstreamReply(response.status_code, content, False, headers)

    async def _chunks(self, response: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        except httpx.HTTPError as exc:
            raise UpstreamError(502, f"upstream `{self.name}` broke off mid-stream: {type(exc).__name__}") from None
        finally:
            await response.aclose()

    async def close(self) -> None:
        await self._client.aclose()
