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

from ..ports import StoreUnavailable
from .dialects.anthropic import DIALECT as ANTHROPIC
from .dialects.openai import DIALECT as OPENAI
from .proxy import authenticate, missing_use_case, proxy
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
    use_case = request.headers.get("x-clearance-use-case") or identity.credential.record.default_use_case
    found = gw.models_for(identity, use_case, gw.location(request, identity), now, "anthropic" if anthropic else "openai")
    if anthropic:
        data = [{"type": "model", "id": m["id"], "display_name": m["id"], "created_at": EPOCH} for m in found]
        listing = {"data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
                   "last_id": data[-1]["id"] if data else None}
        return Response(orjson.dumps(listing), media_type="application/json")
    body: dict[str, object] = {"object": "list", "data": found}
    if not found:
        # SDKs ignore the extra field; a person reading the answer learns why the list is empty.
        body["clearance"] = {"note": missing_use_case(gw) if use_case is None else (
            f"no model is permitted now to this key's person for use case `{use_case}`; "
            "POST /v1/decisions (or `clearance explain`) with a model says why")}
    return Response(orjson.dumps(body), media_type="application/json")


async def health(request: Request) -> Response:
    """200 only when calls can be served: the registry answers (the same version read every call makes)
    and the live snapshot is current; else 503 with the reason, so a load balancer stops sending calls."""
    gw: Gateway = request.app.state.gateway
    live = gw.live
    try:
        await gw.enforcer.freshness.ensure()
        store_error = None
    except StoreUnavailable as exc:
        store_error = str(exc)
    policy = live.current()
    healthy = live.error is None and store_error is None
    # policy_version: the bundle with the registry's records (what decisions carry); bundle_version:
    # the bundle alone (what `clearance policy hash` prints); registry_seq: the registry state.
    body = {"status": "ok" if healthy else "unavailable", "policy_version": policy.version,
            "bundle_version": live.service.bundle_version, "registry_seq": live.seq,
            "audit_records": gw.enforcer.audit.group.appended}
    if store_error is not None:
        body["store_error"] = store_error
    if live.error is not None:
        body["snapshot_error"] = f"{type(live.error).__name__}: {live.error}"
    return Response(orjson.dumps(body), status_code=200 if healthy else 503, media_type="application/json")


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
