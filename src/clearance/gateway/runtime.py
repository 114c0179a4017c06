"""The gateway's parts in one place: registry, identities, audit log, meter, upstreams, trust settings."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from typing import Any

from starlette.requests import Request

from ..core.decide import decide_json
from ..ports import Clock
from ..registry.live import LiveSnapshot
from ..registry.service import RegistryService
from ..services.audit_log import AuditLog
from .config import GatewayConfig
from .demo import DemoUpstream
from .identity import Identities, Identity
from .meter import UsageMeter, utc_day
from .obligations import Duties
from .upstream import HttpUpstream, Upstream

log = logging.getLogger(__name__)
DAY_NS = 86_400 * 1_000_000_000


class Gateway:
    def __init__(self, service: RegistryService, live: LiveSnapshot, audit: AuditLog, meter: UsageMeter,
                 config: GatewayConfig, clock: Clock) -> None:
        self.service, self.live, self.audit, self.meter = service, live, audit, meter
        self.config, self.clock = config, clock
        self.identities = Identities(service, live)
        self._trusted = [ipaddress.ip_network(p, strict=False) for p in config.trusted_proxies]
        self._upstreams: dict[str, tuple[Upstream, str | None]] = {}
        for spec in config.upstreams:
            upstream = HttpUpstream(spec.name, spec.base_url, config.api_key(spec), timeout_s=spec.timeout_s,
                                    connect_timeout_s=spec.connect_timeout_s, max_connections=spec.max_connections)
            for model in spec.models:
                self._upstreams[model] = (upstream, spec.upstream_model)
        self._default: Upstream | None = DemoUpstream(config.demo_safety) if config.default_upstream == "demo" else None
        self._pending: set[asyncio.Task[Any]] = set()

    # -- trust ------------------------------------------------------------------------------

    def _from_trusted_proxy(self, request: Request) -> bool:
        host = request.client.host if request.client else None
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
        return self._from_trusted_proxy(request) and request.headers.get(self.config.tls_header, "").lower() == "https"

    def location(self, request: Request, identity: Identity) -> str | None:
        """The caller's country: a trusted proxy's header first, then the key's default."""
        header = self.config.location_header
        if header and self._from_trusted_proxy(request):
            value = request.headers.get(header)
            if value:
                return value.strip().upper()
        return identity.credential.record.default_location

    # -- upstreams --------------------------------------------------------------------------

    def upstream_for(self, model: str) -> tuple[Upstream | None, str | None]:
        found = self._upstreams.get(model)
        return found if found is not None else (self._default, None)

    def models_for(self, identity: Identity, use_case: str | None, location: str | None, now: int) -> list[dict[str, Any]]:
        """The models this caller may use now, for the use case it would send."""
        policy = self.live.current()
        out = []
        developers = {m.id: m.developer for m in policy.policy.models}
        for model_id in sorted(policy.models):
            decision = decide_json(policy, identity.request(model_id, use_case, location), now)
            if decision.outcome == "permit" and self.upstream_for(model_id)[0] is not None:
                out.append({"id": model_id, "object": "model", "created": 0,
                            "owned_by": developers.get(model_id) or "clearance"})
        return out

    # -- records and meters -----------------------------------------------------------------

    async def record(self, entries: list[tuple[str, dict[str, Any], int]]) -> list[int]:
        """Append ``(kind, body, at_ns)`` entries; return their seqs once durable."""
        futures = self.audit.group.submit_async(entries)
        async with asyncio.timeout(self.audit.group.timeout_s):
            return [(await f).seq for f in futures]

    def finish(self, base: dict[str, Any], status: int, usage: dict[str, int] | None, counted: bool,
               started: float, chores: Duties) -> None:
        """Record a completion and meter its tokens, without holding up the client."""
        body = {**base, "upstream_status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 3)}
        if usage is not None:
            body["usage"] = usage
            body["usage_counted"] = counted
        now = self.clock.now_ns()
        try:
            self.audit.group.submit_lazy("completion", body, now)
        except Exception:  # noqa: BLE001 - the answer is out; the failure is logged, not hidden
            log.exception("completion record for decision %s could not be queued", base.get("decision_seq"))
        tokens = (usage or {}).get("total_tokens", 0)
        if tokens and chores.caps:
            task = asyncio.ensure_future(self._meter(chores, tokens, now))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _meter(self, chores: Duties, tokens: int, now: int) -> None:
        day, _ = utc_day(now)
        for cap in chores.caps:
            try:
                await self.meter.add(cap.scope, day, tokens)
            except Exception:  # noqa: BLE001
                log.exception("usage of %s tokens for %s could not be counted", tokens, cap.scope)

    async def drain(self) -> None:
        """Wait for pending meter updates (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        seen: set[int] = set()
        for upstream, _ in self._upstreams.values():
            if id(upstream) not in seen:
                seen.add(id(upstream))
                await upstream.close()
        await self.meter.close()
