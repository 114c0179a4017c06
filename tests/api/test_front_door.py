"""The admin API reads no body before it knows the caller, and never more than its limit (issue 13)."""

from __future__ import annotations

import asyncio
import json

import pytest

from clearance.api.app import create_app
from clearance.api.guard import MAX_BODY_BYTES
from clearance.settings import Settings
from clearance.wiring import build_app

MIB = 1024 * 1024


@pytest.fixture
def admin_app(tmp_path):
    built = build_app(Settings(database_url=str(tmp_path / "r.db"), audit_keys=str(tmp_path / "keys")))
    token = built.service.create_credential(["admin"], reason="test").token
    yield create_app(built), token
    built.close()


def call(app, method: str, path: str, headers: dict[str, str], chunks: int, chunk: bytes = b"x" * MIB):
    """Run one request through the ASGI app; return (status, body, how many body chunks it pulled)."""
    pulled = 0
    sent: list[dict] = []

    async def receive():
        nonlocal pulled
        if pulled >= chunks:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": pulled < chunks}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "path": path,
             "raw_path": path.encode(), "root_path": "", "scheme": "http", "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), pulled


def test_an_anonymous_200_mib_put_is_refused_401_before_any_of_it_is_read(admin_app):
    app, _ = admin_app
    status, body, pulled = call(app, "PUT", "/v1/licences/X", {"content-length": str(200 * MIB)}, chunks=200)
    assert (status, pulled) == (401, 0)
    assert body["detail"] == "missing bearer token"


def test_a_wrong_token_is_refused_before_its_body_is_read(admin_app):
    app, _ = admin_app
    headers = {"content-length": str(200 * MIB), "authorization": "Bearer ck_nope.nope"}
    status, body, pulled = call(app, "PUT", "/v1/licences/X", headers, chunks=200)
    assert (status, pulled) == (401, 0) and body["detail"] == "invalid or revoked token"


def test_a_declared_oversize_body_is_413_unread_and_a_streamed_one_stops_at_the_limit(admin_app):
    app, token = admin_app
    auth = {"authorization": f"Bearer {token}"}
    status, _, pulled = call(app, "PUT", "/v1/licences/X", {**auth, "content-length": str(200 * MIB)}, chunks=200)
    assert (status, pulled) == (413, 0)
    status, body, pulled = call(app, "PUT", "/v1/licences/X", {**auth, "transfer-encoding": "chunked"}, chunks=200)
    assert status == 413 and pulled == MAX_BODY_BYTES // MIB + 1
    assert str(MAX_BODY_BYTES) in body["detail"]


def test_an_authenticated_body_within_the_limit_reaches_its_route(admin_app):
    app, token = admin_app
    payload = json.dumps({"scopes": ["auditor"], "reason": "test"}).encode()
    headers = {"authorization": f"Bearer {token}", "content-length": str(len(payload)),
               "content-type": "application/json"}
    status, body, pulled = call(app, "POST", "/v1/credentials", headers, chunks=1, chunk=payload)
    assert status == 201, body
    assert pulled == 1 and body["token"]
