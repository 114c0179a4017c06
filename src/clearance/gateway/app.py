"""The served application: the OpenAI-compatible gateway and the admin and audit API on one port.

Model traffic: ``POST /v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings`` and
``GET /v1/models`` (only the models the caller may use now). Admin, registry and remote
audit routes are those of :mod:`clearance.api.app`. ``GET /healthz`` reports the policy in
force and whether the live snapshot is current.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..api.app import create_app
from ..settings import Settings
from .errors import error
from .proxy import authenticate, proxy
from .runtime import Gateway

log = logging.getLogger(__name__)


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


ROUTES = {
    ("POST", "/v1/chat/completions"): chat_completions,
    ("POST", "/v1/completions"): completions,
    ("POST", "/v1/embeddings"): embeddings,
    ("GET", "/v1/models"): models,
    ("GET", "/healthz"): health,
}


class Server:
    """One ASGI app: model traffic goes straight to its handler, everything else to the admin API.

    The gateway's few routes are dispatched by an exact (method, path) lookup before FastAPI's
    routing and middleware, which would otherwise cost more than the enforcement itself.
    """

    def __init__(self, gateway: Gateway, admin: FastAPI) -> None:
        self.gateway = gateway
        self.admin = admin
        self.state = admin.state  # handlers reach the gateway as request.app.state.gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = ROUTES.get((scope["method"], scope["path"]))
            if handler is not None:
                scope["app"] = self
                try:
                    response = await handler(Request(scope, receive))
                except Exception:  # noqa: BLE001 - answered as a 500 and logged; never a silent pass
                    log.exception("gateway handler failed on %s", scope["path"])
                    response = error(500, "internal-error", "the gateway failed on this request; it was not forwarded")
                await response(scope, receive, send)
                return
        await self.admin(scope, receive, send)


def create_server(gateway: Gateway) -> Server:
    """The admin API with the gateway's routes in front of it."""
    admin = create_app(gateway.service, gateway.live, gateway.audit)
    admin.state.gateway = gateway
    return Server(gateway, admin)


async def sign_heads(gateway: Gateway, interval_s: float) -> None:
    """Sign a tree head whenever the log has grown, so auditors' proofs never lag far behind."""
    audit = gateway.audit
    while True:
        await asyncio.sleep(interval_s)
        try:
            latest = await asyncio.to_thread(audit.store.latest_head)
            if latest is None or latest.size < await asyncio.to_thread(audit.store.size):
                await asyncio.to_thread(audit.sign_head)
        except Exception:  # noqa: BLE001 - logged; the next round tries again
            log.exception("could not sign an audit tree head")


def factory() -> Server:
    """The app of one server process, from the environment (``uvicorn --factory``, one per worker)."""
    from ..wiring import build_gateway, build_registry

    # The audit writer thread must get the GIL promptly when its commit returns, or every
    # request waits out the event loop's time slice (5 ms by default) for its record.
    sys.setswitchinterval(0.0005)
    settings = Settings.from_env()
    registry = build_registry(settings)
    gateway = build_gateway(settings, registry)
    app = create_server(gateway)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(registry.follow)
        signer = asyncio.ensure_future(sign_heads(gateway, settings.audit_head_interval_s))
        try:
            yield
        finally:
            signer.cancel()
            await gateway.close()
            registry.close()

    app.admin.router.lifespan_context = lifespan
    return app
