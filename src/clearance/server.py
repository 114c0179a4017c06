"""The served application: the gateway's routes in front of the admin and audit API.

On one port by default; with an admin port (``clearance serve --admin-port``) each process
listens on both, and the listener a request arrived on decides what it may reach: model
routes only on the main port, the admin/audit API and ``/metrics`` only on the admin port,
the probes (``/livez``, ``/readyz``, ``/healthz``) on both. The admin port can then be
firewalled apart from the model traffic.

This is a composition root like :mod:`clearance.wiring`: interfaces do not import each
other, so the one module that puts the gateway and the admin API together lives here.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .api.app import create_app
from .gateway.app import PROBES, ROUTES
from .gateway.errors import error
from .gateway.runtime import Gateway
from .observability import logs, tracing
from .services.audit_log import AuditLog
from .settings import Settings
from .wiring import App

log = logging.getLogger(__name__)
_PROBES = {**PROBES, ("GET", "/healthz"): ROUTES[("GET", "/healthz")]}


class Server:
    """One ASGI app: model traffic goes straight to its handler, everything else to the admin API.

    The gateway's few routes are dispatched by an exact (method, path) lookup before FastAPI's
    routing and middleware, which would otherwise cost more than the enforcement itself.
    """

    def __init__(self, gateway: Gateway, admin: FastAPI, admin_port: int | None = None) -> None:
        self.gateway = gateway
        self.admin = admin
        self.admin_port = admin_port
        self.state = admin.state  # handlers reach the gateway as request.app.state.gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.admin(scope, receive, send)
            return
        key = (scope["method"], scope["path"])
        handler = _PROBES.get(key)
        on_admin = self.admin_port is not None and (scope.get("server") or (None, None))[1] == self.admin_port
        if handler is None and not on_admin:
            handler = ROUTES.get(key)
            if handler is None and self.admin_port is not None:
                handler = _elsewhere  # the main listener of a split deployment serves model traffic only
        if handler is None:
            await self.admin(scope, receive, send)
            return
        scope["app"] = self
        request_id = _request_id(scope)
        token = logs.REQUEST_ID.set(request_id)
        try:
            response = await handler(Request(scope, receive))
        except ClientDisconnect:
            return  # the caller left before its request was read: nobody to answer, nothing decided
        except Exception:  # noqa: BLE001 - answered as a 500 and logged; never a silent pass
            log.exception("gateway handler failed on %s", scope["path"])
            response = error(500, "internal-error", "the gateway failed on this request; it was not forwarded")
        finally:
            logs.REQUEST_ID.reset(token)
        response.headers["x-request-id"] = request_id
        await response(scope, receive, send)


async def _elsewhere(request: Request) -> Response:
    return error(404, "not-found", f"`{request.url.path}` is not served on this port (the admin API has its own)")


def _request_id(scope: Scope) -> str:
    """The caller's (or the proxy's) ``X-Request-Id`` when it is sane, else a fresh one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            if 0 < len(value) <= 128 and value.isascii():
                return value.decode()
            break
    return logs.new_request_id()


def create_server(gateway: Gateway, app: App, admin_port: int | None = None, max_lag_s: float = 10.0) -> Server:
    """The admin API with the gateway's routes in front of it (split by listener with ``admin_port``)."""
    admin = create_app(app)
    admin.state.gateway = gateway
    admin.state.readiness = app.readiness(max_lag_s)
    return Server(gateway, admin, admin_port)


async def sign_heads(audit: AuditLog, interval_s: float) -> None:
    """Sign a tree head whenever the log has grown, so auditors' proofs never lag far behind."""
    while True:
        await asyncio.sleep(interval_s)
        await _sign(audit)


async def _sign(audit: AuditLog) -> None:
    try:
        await asyncio.to_thread(audit.sign_if_grown)
    except Exception:  # noqa: BLE001 - logged; the next round tries again
        log.exception("could not sign an audit tree head")


def factory() -> Server:
    """The app of one server process, from the environment (``uvicorn --factory``, one per worker)."""
    from .wiring import build_app, build_gateway

    # The audit writer thread must get the GIL promptly when its commit returns, or every
    # request waits out the event loop's time slice (5 ms by default) for its record.
    sys.setswitchinterval(0.0005)
    settings = Settings.from_env()
    logs.configure(settings.log_format, settings.log_level, settings.log_repeat_interval_s)
    tracing.configure(settings.otel_endpoint)
    app = build_app(settings)
    gateway = build_gateway(settings, app)
    server = create_server(gateway, app, settings.admin_port, settings.ready_max_lag_s)
    assert app.audit is not None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        audit = app.audit
        assert audit is not None
        await asyncio.to_thread(app.follow)
        await _sign(audit)  # a head at start-up: what the last run left is covered at once
        signer = asyncio.ensure_future(sign_heads(audit, settings.audit_head_interval_s))
        # What start-up built (policy, registry snapshot, guard tables) lives as long as the
        # process: out of the collector's sight, a full collection no longer walks it. In the
        # gateway this halved the answer guard's cost per call (300 to 145 us of CPU), which
        # was mostly collections its allocations set off. (Collect first: garbage is not frozen.)
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            signer.cancel()
            await gateway.close()
            await _sign(audit)  # and at a clean stop, after the last completions are written
            app.close()

    server.admin.router.lifespan_context = lifespan
    return server


def admin_factory() -> FastAPI:
    """The admin and audit API alone (``clearance api``), following the registry's changes."""
    from .wiring import build_app

    app = build_app(Settings.from_env())
    admin = create_app(app)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(app.follow)
        try:
            yield
        finally:
            await app.enforcer.close()
            app.close()

    admin.router.lifespan_context = lifespan
    return admin
