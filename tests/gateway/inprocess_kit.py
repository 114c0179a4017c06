"""The served application (gateway in front of the admin API) in this process, on a settable clock.

For what a ``clearance serve`` subprocess cannot show: a decision at a chosen instant (the
acceptance cases are dated). It is composed exactly as ``clearance serve`` composes it, from
``Settings``, with the one difference that the clock is a :class:`FixedClock`; this is the
only module of the tests that knows how, so a change of the composition root changes it alone.
Requests come from 127.0.0.1, which the gateway file trusts as a proxy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from clearance.server import create_server
from clearance.settings import Settings
from clearance.store.clock import FixedClock
from clearance.wiring import build_app, build_gateway

TRUSTING_LOOPBACK = """\
trusted_proxies: [127.0.0.1/32]
location_header: X-Client-Country
tls_header: X-Forwarded-Proto
"""


@dataclass
class InProcess:
    client: TestClient
    clock: FixedClock
    admin: str

    def admin_call(self, method: str, path: str, **kwargs):
        return self.client.request(method, path, headers={"Authorization": f"Bearer {self.admin}"}, **kwargs)


@contextmanager
def served(tmp_path: Path, clock: FixedClock, gateway_yaml: str = TRUSTING_LOOPBACK) -> Iterator[InProcess]:
    """The app on ``memory:``; the admin token is issued at the clock's instant when called."""
    (tmp_path / "gateway.yaml").write_text(gateway_yaml)
    settings = Settings(database_url="memory:", audit_keys=str(tmp_path / "keys"),
                        gateway_config=str(tmp_path / "gateway.yaml"))
    app = build_app(settings, clock)
    gateway = build_gateway(settings, app)
    admin = app.service.create_credential(["admin"], reason="test").token
    try:
        with TestClient(create_server(gateway, app), client=("127.0.0.1", 50000)) as client:
            yield InProcess(client, clock, admin)
    finally:
        app.close()
