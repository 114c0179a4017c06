"""The authorizer process (``clearance authz serve``): Envoy ext_authz over gRPC and HTTP, and nginx auth_request.

A composition root like :mod:`clearance.server`: the same app, enforcer and gateway file, but
answering a proxy's question instead of forwarding the call. It writes audit records, so it
signs tree heads as ``clearance serve`` does. The gRPC listener is started in the HTTP
server's lifespan, so both share one event loop and one enforcer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Route

from .gateway.authz_http import envoy, health, nginx
from .server import _sign, sign_heads
from .settings import Settings

log = logging.getLogger(__name__)
GRPC_ENV = "CLEARANCE_AUTHZ_GRPC"  # host:port for the gRPC listener; unset or empty: none


def factory() -> Starlette:
    from .wiring import build_app, build_gateway

    sys.setswitchinterval(0.0005)  # as in clearance.server: the audit writer thread gets the GIL promptly
    settings = Settings.from_env()
    app = build_app(settings)
    gateway = build_gateway(settings, app)
    grpc_address = os.environ.get(GRPC_ENV, "")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        audit = app.audit
        assert audit is not None
        await asyncio.to_thread(app.follow)
        await _sign(audit)
        signer = asyncio.ensure_future(sign_heads(audit, settings.audit_head_interval_s))
        grpc_server = None
        if grpc_address:
            from .gateway.authz_grpc import start

            grpc_server = await start(gateway, grpc_address)
        try:
            yield
        finally:
            if grpc_server is not None:
                await grpc_server.stop(grace=2)
            signer.cancel()
            await gateway.close()
            await _sign(audit)
            app.close()

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    routes = [Route("/healthz", health, methods=["GET"]), Route("/nginx", nginx, methods=methods),
              Route("/ext_authz/{path:path}", envoy, methods=methods)]
    server = Starlette(routes=routes, lifespan=lifespan)
    server.state.gateway = gateway
    return server
