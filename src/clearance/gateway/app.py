"""The served application: the OpenAI-compatible gateway and the admin and audit API on one port.

Model traffic: ``POST /v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings`` and
``GET /v1/models`` (only the models the caller may use now). Admin, registry and remote
audit routes are those of :mod:`clearance.api.app`. ``GET /healthz`` reports the policy in
force and whether the live snapshot is current.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from ..api.app import create_app
from ..settings import Settings
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
            "registry_seq": live.seq, "audit_records": gw.audit.group.appended}
    if live.error is not None:
        body["snapshot_error"] = f"{type(live.error).__name__}: {live.error}"
    return Response(orjson.dumps(body), status_code=200 if live.error is None else 503, media_type="application/json")


def create_server(gateway: Gateway) -> FastAPI:
    """The admin API with the gateway's routes added (matched first for model traffic)."""
    app = create_app(gateway.service, gateway.live, gateway.audit)
    app.state.gateway = gateway
    app.add_route("/v1/chat/completions", chat_completions, methods=["POST"])
    app.add_route("/v1/completions", completions, methods=["POST"])
    app.add_route("/v1/embeddings", embeddings, methods=["POST"])
    app.add_route("/v1/models", models, methods=["GET"])
    app.add_route("/healthz", health, methods=["GET"])
    return app


def factory() -> FastAPI:
    """The app of one server process, from the environment (``uvicorn --factory``, one per worker)."""
    from ..wiring import build_gateway, build_registry

    settings = Settings.from_env()
    registry = build_registry(settings)
    gateway = build_gateway(settings, registry)
    app = create_server(gateway)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(registry.follow)
        try:
            yield
        finally:
            await gateway.close()
            registry.close()

    app.router.lifespan_context = lifespan
    return app
