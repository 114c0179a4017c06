"""An in-process gateway and admin API over any database, for the operations tests.

The same composition as ``clearance serve`` (``server.create_server``) without a socket:
requests go through httpx's ASGI transport, whose host and port become the ASGI
``server`` of each request, so one app can be called "on" its main and its admin port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from clearance.server import Server, create_server
from clearance.settings import Settings
from clearance.wiring import App, build_app, build_gateway

MAIN = "http://gateway.test:8000"
ADMIN = "http://gateway.test:9000"


@dataclass
class Running:
    app: App
    server: Server
    admin_token: str
    key: str

    def client(self, base: str = MAIN) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.server), base_url=base, timeout=30)


def chat(model: str = "mythos-5") -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "Hello"}]}


@asynccontextmanager
async def running(settings: Settings, admin_port: int | None = None) -> AsyncIterator[Running]:
    app = build_app(settings)
    try:
        service = app.service
        admin = service.create_credential(["admin"], actor="test", reason="test").token
        service.put("person", "ops-user", {"entity": "stripe", "citizenships": ["US"], "location": "US",
                                           "name": "Ops User"}, actor="test", reason="test")
        key = service.create_credential(["gateway"], actor="test", reason="test", person="ops-user",
                                        default_use_case="software-engineering", default_location="US").token
        gateway = build_gateway(settings, app)
        server = create_server(gateway, app, admin_port)
        yield Running(app, server, admin, key)
        await gateway.close()
    finally:
        app.close()
