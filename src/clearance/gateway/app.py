"""The gateway's HTTP handlers: model traffic and health, as plain ASGI-ready coroutines.

Model traffic: ``POST /v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings`` and
``GET /v1/models`` (only the models the caller may use now). ``GET /healthz`` reports the
policy in force and whether the live snapshot is current; ``GET /livez`` and ``GET /readyz``
are the probes of :mod:`clearance.observability.health`. :mod:`clearance.server` puts
them in front of the admin API on one port.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .proxy import authenticate, proxy
from .runtime import Gateway


async def chat_completions(request: Request) -> Response:
    return await proxy(request, "/chat/completions")


async def completions(request: Request) -> Response:
    return await proxy(request, "/completions")


async def embeddings(request: Request) -> Response:
    return await proxy(request, "/embeddings")


async def models(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    now = gw.clock.now_ns()
    identity = await authenticate(gw, request, now)
    if isinstance(identity, Response):
        return identity
    found = gw.models_for(identity, request.headers.get("x-clearance-use-case"), gw.location(request, identity), now)
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
    ("GET", "/v1/models"): models,
    ("GET", "/healthz"): health,
}
