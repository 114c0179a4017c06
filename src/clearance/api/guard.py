"""The admin API's front door: who is calling and how much they send, checked before any body is read.

FastAPI reads and parses a request's body before a route's dependencies run, so without this
an anonymous caller could make the server buffer any amount of data before hearing 401. This
ASGI middleware answers, for every request that carries a body:

- 401 when no bearer token is presented, or it is unknown or revoked (read nothing);
- 413 when ``Content-Length`` declares more than ``max_body_bytes`` (read nothing), or the
  streamed body grows past it (read no further);

Paths under ``open_prefix`` (the console, whose forms carry a session cookie instead of a bearer
token and are checked by the console itself) skip the token check but not the size limit;
and otherwise hands the app the body it read (at most ``max_body_bytes``) with the credential
it found, so the route's own ``caller`` dependency does not look the token up again. Requests
without a body (GETs) go straight through: their routes authenticate before doing any work.
Scopes are still checked by each route.
"""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..ports import StoreUnavailable
from ..registry.service import Credential, RegistryService

MAX_BODY_BYTES = 4 * 1024 * 1024
CREDENTIAL = "clearance_credential"  # the key under ``scope["state"]`` (``request.state``)


class BodyGuard:
    def __init__(self, app: ASGIApp, registry: RegistryService, max_body_bytes: int = MAX_BODY_BYTES,
                 open_prefix: str | None = None) -> None:
        self.app = app
        self.registry = registry
        self.max_body_bytes = max_body_bytes
        self.open_prefix = open_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        if self._open(scope["path"]):
            found = None
        else:
            found = await self._credential(scope, send)
            if found is None:
                return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            if not declared.isdigit():
                await _answer(send, 400, "Content-Length is not a number")
            else:
                await _answer(send, 413, f"request body over {self.max_body_bytes} bytes")
            return
        body = await self._read(receive)
        if body is None:
            await _answer(send, 413, f"request body over {self.max_body_bytes} bytes")
            return
        if found is not None:
            scope.setdefault("state", {})[CREDENTIAL] = found
        await self.app(scope, _replay(body, receive), send)

    def _open(self, path: str) -> bool:
        prefix = self.open_prefix
        return prefix is not None and (path == prefix or path.startswith(prefix + "/"))

    async def _credential(self, scope: Scope, send: Send) -> Credential | None:
        """The live credential of the request's bearer token; ``None`` once the refusal is sent."""
        token = _bearer(scope)
        if token is None:
            await _answer(send, 401, "missing bearer token", {"www-authenticate": "Bearer"})
            return None
        try:
            found = await anyio.to_thread.run_sync(self.registry.authenticate, token)
        except StoreUnavailable as exc:
            await _answer(send, 503, None, error={"code": "store-unavailable", "problems": [str(exc)]})
            return None
        if found is None:
            await _answer(send, 401, "invalid or revoked token", {"www-authenticate": "Bearer"})
        return found

    async def _read(self, receive: Receive) -> bytes | None:
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(parts)  # the app hears the disconnect when it asks for more
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)


def credential_of(state: Any) -> Credential | None:
    """The credential ``BodyGuard`` already checked for this request, if any."""
    found = getattr(state, CREDENTIAL, None)
    return found if isinstance(found, Credential) else None


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    if length is not None:
        return length != "0"
    return _header(scope, b"transfer-encoding") is not None or scope["method"] in ("POST", "PUT", "PATCH")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


def _bearer(scope: Scope) -> str | None:
    header = _header(scope, b"authorization") or ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer(send: Send, status: int, detail: str | None, headers: dict[str, str] | None = None,
                  error: dict[str, Any] | None = None) -> None:
    """An answer in the admin API's shapes (FastAPI's ``detail``, or the app's ``error`` object)."""
    payload = json.dumps({"detail": detail} if error is None else {"error": error}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
           (b"connection", b"close")]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
