"""The synchronous client: ``Client(base_url, token)``; every method is one API call, typed."""

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


class Client:
    """A clearance server's admin, audit, licensing, screening and decision APIs over one pooled connection.

    ``token`` is a clearance credential; each call needs the scope its endpoint asks for. Errors
    raise ``ClearanceAPIError`` with the server's status, code and message.
    """

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)

    def _run(self, call: calls.Call[T]) -> T:
        response = self._http.request(call.method, call.path, json=call.json, params=call.params or None)
        return call.read(calls.checked(response))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def decide(self, document: dict[str, Any], trace: bool = False) -> Decision:
        return self._run(calls.decide(document, trace))

    def put_record(self, resource: str, key: str, record: dict[str, Any], reason: str, effective: str | None = None) -> RegistryRecord:
        return self._run(calls.put_record(resource, key, record, reason, effective))

    def retire(self, resource: str, key: str, reason: str) -> RegistryRecord:
        return self._run(calls.retire(resource, key, reason))

    def issue_credential(self, scopes: list[str], reason: str, **fields: Any) -> IssuedCredential:
        return self._run(calls.issue_credential(scopes, reason, **fields))

    def revoke_credential(self, key: str, reason: str) -> RegistryRecord:
        return self._run(calls.revoke_credential(key, reason))

    def entity(self, key: str) -> dict[str, Any]:
        return self._run(calls.entity(key))

    def person(self, key: str) -> dict[str, Any]:
        return self._run(calls.person(key))

    def history(self, kind: str, key: str) -> dict[str, Any]:
        return self._run(calls.history(kind, key))

    def audit_records(self, limit: int = 100, **filters: Any) -> AuditPage:
        return self._run(calls.audit_records(limit, **filters))

    def latest_head(self) -> SignedHead:
        return self._run(calls.latest_head())

    def inclusion_proof(self, seq: int, size: int | None = None) -> InclusionProof:
        return self._run(calls.inclusion_proof(seq, size))

    def consistency_proof(self, first: int, second: int | None = None) -> dict[str, Any]:
        return self._run(calls.consistency_proof(first, second))

    def audit_keys(self) -> dict[str, str]:
        return self._run(calls.audit_keys())

    def checkpoint(self) -> str:
        return self._run(calls.checkpoint())

    def checkpoint_keys(self) -> CheckpointKeys:
        return self._run(calls.checkpoint_keys())

    def quarterly_report(self, entity_id: str, quarter: str) -> dict[str, Any]:
        return self._run(calls.quarterly_report(entity_id, quarter))

    def criteria(self) -> dict[str, Any]:
        return self._run(calls.criteria())

    def self_check(self, document: dict[str, Any]) -> dict[str, Any]:
        return self._run(calls.self_check(document))

    def apply(self, document: dict[str, Any]) -> dict[str, Any]:
        return self._run(calls.apply(document))

    def application(self, app_id: str) -> dict[str, Any]:
        return self._run(calls.application(app_id))

    def screen(self, name: str, countries: list[str] | None = None, kind: str | None = None, limit: int = 5) -> ScreeningResult:
        return self._run(calls.screen(name, countries, kind, limit))

    def findings(self, include_cleared: bool = False) -> dict[str, Any]:
        return self._run(calls.findings(include_cleared))
