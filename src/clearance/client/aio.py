"""The asynchronous client: ``AsyncClient(base_url, token)``, the same calls as ``Client``, awaited."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from . import calls
from .models import (
    AuditPage,
    CheckpointKeys,
    Decision,
    InclusionProof,
    IssuedCredential,
    RegistryRecord,
    ScreeningResult,
    SignedHead,
)

T = TypeVar("T")


class AsyncClient:
    """The asynchronous twin of :class:`clearance.client.Client`."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout,
                                       transport=transport)

    async def _run(self, call: calls.Call[T]) -> T:
        response = await self._http.request(call.method, call.path, json=call.json, params=call.params or None)
        return call.read(calls.checked(response))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def decide(self, document: dict[str, Any], trace: bool = False) -> Decision:
        return await self._run(calls.decide(document, trace))

    async def put_record(self, resource: str, key: str, record: dict[str, Any], reason: str, effective: str | None = None) -> RegistryRecord:
        return await self._run(calls.put_record(resource, key, record, reason, effective))

    async def retire(self, resource: str, key: str, reason: str) -> RegistryRecord:
        return await self._run(calls.retire(resource, key, reason))

    async def issue_credential(self, scopes: list[str], reason: str, **fields: Any) -> IssuedCredential:
        return await self._run(calls.issue_credential(scopes, reason, **fields))

    async def revoke_credential(self, key: str, reason: str) -> RegistryRecord:
        return await self._run(calls.revoke_credential(key, reason))

    async def entity(self, key: str) -> dict[str, Any]:
        return await self._run(calls.entity(key))

    async def person(self, key: str) -> dict[str, Any]:
        return await self._run(calls.person(key))

    async def history(self, kind: str, key: str) -> dict[str, Any]:
        return await self._run(calls.history(kind, key))

    async def audit_records(self, limit: int = 100, **filters: Any) -> AuditPage:
        return await self._run(calls.audit_records(limit, **filters))

    async def latest_head(self) -> SignedHead:
        return await self._run(calls.latest_head())

    async def inclusion_proof(self, seq: int, size: int | None = None) -> InclusionProof:
        return await self._run(calls.inclusion_proof(seq, size))

    async def consistency_proof(self, first: int, second: int | None = None) -> dict[str, Any]:
        return await self._run(calls.consistency_proof(first, second))

    async def audit_keys(self) -> dict[str, str]:
        return await self._run(calls.audit_keys())

    async def checkpoint(self) -> str:
        return await self._run(calls.checkpoint())

    async def checkpoint_keys(self) -> CheckpointKeys:
        return await self._run(calls.checkpoint_keys())

    async def quarterly_report(self, entity_id: str, quarter: str) -> dict[str, Any]:
        return await self._run(calls.quarterly_report(entity_id, quarter))

    async def criteria(self) -> dict[str, Any]:
        return await self._run(calls.criteria())

    async def self_check(self, document: dict[str, Any]) -> dict[str, Any]:
        return await self._run(calls.self_check(document))

    async def apply(self, document: dict[str, Any]) -> dict[str, Any]:
        return await self._run(calls.apply(document))

    async def application(self, app_id: str) -> dict[str, Any]:
        return await self._run(calls.application(app_id))

    async def screen(self, name: str, countries: list[str] | None = None, kind: str | None = None, limit: int = 5) -> ScreeningResult:
        return await self._run(calls.screen(name, countries, kind, limit))

    async def findings(self, include_cleared: bool = False) -> dict[str, Any]:
        return await self._run(calls.findings(include_cleared))
