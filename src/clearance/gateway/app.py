"""The gateway's HTTP handlers: model traffic and health, as plain ASGI-ready coroutines.

Model traffic: ``POST /v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings`` (the
OpenAI format), ``POST /v1/messages`` (the Anthropic format) and ``GET /v1/models`` (only the
models the caller may use now, in Anthropic's shape when the call names an
``anthropic-version``, as the Anthropic SDKs do). ``GET /healthz`` reports the
policy in force and whether the live snapshot is current; ``GET /livez`` and ``GET /readyz``
are the probes of :mod:`clearance.observability.health`. :mod:`clearance.server` puts
them in front of the admin API on one port.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .dialects.anthropic import DIALECT as ANTHROPIC
from .dialects.openai import DIALECT as OPENAI
from .proxy import authenticate, proxy
from .runtime import Gateway

EPOCH = "1970-01-01T00:00:00Z"


async def chat_completions(request: Request) -> Response:
    return await proxy(request, "/chat/completions")


async def completions(request: Request) -> Response:
    return await proxy(request, "/completions")


async def embeddings(request: Request) -> Response:
    return await proxy(request, "/embeddings")


async def messages(request: Request) -> Response:
    return await proxy(request, "/messages", ANTHROPIC)


async def models(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    now = gw.clock.now_ns()
    anthropic = "anthropic-version" in request.headers
    identity = await authenticate(gw, request.headers, now, ANTHROPIC if anthropic else OPENAI)
    if isinstance(identity, Response):
        return identity
    found = gw.models_for(identity, request.headers.get("x-clearance-use-case"), gw.location(request, identity), now,
                          "anthropic" if anthropic else "openai")
    if anthropic:
        data = [{"type": "model", "id": m["id"], "display_name": m["id"], "created_at": EPOCH} for m in found]
        listing = {"data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
                   "last_id": data[-1]["id"] if data else None}
        return Response(orjson.dumps(listing), media_type="application/json")
    return Response(orjson.dumps({"object": "list", "data": found}), media_type="application/json")


async def health(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    live = gw.live
    policy = live.current()
    body = {"status": "ok" if live.error is None else "degraded", "policy_version": policy.version,
            "registry_seq": live.seq, "audit_records": gw.enforcer.audit.group.appended}
    if live.error is not None:
        body["snapshot_error"] = f"{type(live.error).__name__}: {live.error}"
    return Response(orjson.dumps(body), status_code=200 if live.error is None else 503, media_type="application/json")


async def livez(_: Request) -> Response:
    """The process runs handlers: nothing else is checked (an orchestrator restarts on failure)."""
    return Response(b'{"status":"alive"}', media_type="application/json")


async def readyz(request: Request) -> Response:
    """200 when this process can serve calls with their records; 503 naming each part that cannot."""
    ready, parts = await request.app.state.readiness.check()
    failing = [name for name, state in parts.items() if state != "ok"]
    body = {"status": "ready" if ready else "not-ready", "failing": failing, "parts": parts}
    return Response(orjson.dumps(body), status_code=200 if ready else 503, media_type="application/json")


# Probes a load balancer or orchestrator uses: answered on every listener (main and admin).
PROBES = {
    ("GET", "/livez"): livez,
    ("GET", "/readyz"): readyz,
}

ROUTES = {
    ("POST", "/v1/chat/completions"): chat_completions,
    ("POST", "/v1/completions"): completions,
    ("POST", "/v1/embeddings"): embeddings,
    ("POST", "/v1/messages"): messages,
    ("GET", "/v1/models"): models,
    ("GET", "/healthz"): health,
}
