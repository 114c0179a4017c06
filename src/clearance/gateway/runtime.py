"""The gateway's parts in one place: the enforcer, upstreams, and which proxies' headers to trust."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from ..enforcement import Enforcer, Identity
from ..guardrails.policy import Guards
from ..ports import Clock
from .config import GatewayConfig
from .demo import DemoUpstream
from .upstream import HttpUpstream, Upstream

log = logging.getLogger(__name__)


class Gateway:
    def __init__(self, enforcer: Enforcer, config: GatewayConfig, clock: Clock, guards: Guards | None = None) -> None:
        self.enforcer = enforcer
        # The prompt and answer guards the bundle's `guardrails` rules act through (None: no guard,
        # so those rules are not applied and a permit requiring a guard level is refused).
        self.guards = guards if guards is not None and (guards.prompt or guards.answer) else None
        self.live = enforcer.live
        self.config, self.clock = config, clock
        self._trusted = [ipaddress.ip_network(p, strict=False) for p in config.trusted_proxies]
        self._upstreams: dict[str, tuple[Upstream, str | None]] = {}
        for spec in config.upstreams:
            upstream = HttpUpstream(spec.name, spec.base_url, config.api_key(spec), timeout_s=spec.timeout_s,
                                    connect_timeout_s=spec.connect_timeout_s, max_connections=spec.max_connections,
                                    dialect=spec.dialect)
            for model in spec.models:
                self._upstreams[model] = (upstream, spec.upstream_model)
        self._default: Upstream | None = DemoUpstream(config.demo_safety) if config.default_upstream == "demo" else None

    # -- trust ------------------------------------------------------------------------------

    def trusts(self, host: str | None) -> bool:
        """``host`` is a proxy whose forwarding headers are believed."""
        if not host or not self._trusted:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in net for net in self._trusted)

    def secure(self, request: Request) -> bool:
        """The call arrived over TLS: directly, or as a trusted proxy says."""
        if request.scope.get("scheme") == "https":  # the scope, not request.url, which builds a URL object
            return True
        return self.secure_from(request.client.host if request.client else None, request.headers)

    def secure_from(self, peer: str | None, headers: Mapping[str, str]) -> bool:
        """A trusted proxy ``peer`` says the client used https."""
        return self.trusts(peer) and headers.get(self.config.tls_header.lower(), "").lower() == "https"

    def location(self, request: Request, identity: Identity) -> str | None:
        return self.location_from(request.client.host if request.client else None, request.headers, identity)

    def location_from(self, peer: str | None, headers: Mapping[str, str], identity: Identity) -> str | None:
        """The caller's country: a trusted proxy's header first, then the key's default."""
        header = self.config.location_header
        if header and self.trusts(peer):
            value = headers.get(header.lower())
            if value:
                return value.strip().upper()
        return identity.credential.record.default_location

    # -- upstreams --------------------------------------------------------------------------

    def upstream_for(self, model: str) -> tuple[Upstream | None, str | None]:
        found = self._upstreams.get(model)
        return found if found is not None else (self._default, None)

    def models_for(self, identity: Identity, use_case: str | None, location: str | None, now: int,
                   dialect: str = "openai") -> list[dict[str, Any]]:
        """The models this caller may use now, for the use case it would send, that an upstream serves in ``dialect``."""
        developers = {m.id: m.developer for m in self.live.current().policy.models}
        use_case = use_case or identity.credential.record.default_use_case
        return [{"id": m, "object": "model", "created": 0, "owned_by": developers.get(m) or "clearance"}
                for m in self.enforcer.allowed_models(identity.subject(), use_case, location, now)
                if (upstream := self.upstream_for(m)[0]) is not None and dialect in upstream.dialects]

    async def close(self) -> None:
        await self.enforcer.close()
        seen: set[int] = set()
        for upstream, _ in self._upstreams.values():
            if id(upstream) not in seen:
                seen.add(id(upstream))
                await upstream.close()
