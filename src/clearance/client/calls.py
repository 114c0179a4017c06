"""Each API call once: its method, path, arguments and how its answer is read; the sync and async clients run them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from .models import (
    AuditPage,
    CheckpointKeys,
    ClearanceAPIError,
    Decision,
    InclusionProof,
    IssuedCredential,
    RegistryRecord,
    ScreeningResult,
    SignedHead,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[httpx.Response], T]
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)


def _json(parse: Callable[[Any], T]) -> Callable[[httpx.Response], T]:
    return lambda response: parse(response.json())


def _text(response: httpx.Response) -> str:
    return response.text


def _segment(value: str) -> str:
    return quote(value, safe="")


def checked(response: httpx.Response) -> httpx.Response:
    """The response if it succeeded, else a ``ClearanceAPIError`` naming the server's code and message."""
    if response.status_code < 400:
        return response
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    code, message = None, response.reason_phrase
    if isinstance(body, dict):
        detail = body.get("error", body.get("detail", body))
        if isinstance(detail, dict):
            code = detail.get("code") or (detail.get("clearance") or {}).get("code")
            message = str(detail.get("message") or detail.get("problems") or detail)
        elif detail is not None:
            message = str(detail)
    raise ClearanceAPIError(response.status_code, code, message, body)


def decide(document: dict[str, Any], trace: bool = False) -> Call[Decision]:
    return Call("POST", "/v1/decisions", _json(Decision.from_json), document, {"trace": "true"} if trace else {})


def put_record(resource: str, key: str, record: dict[str, Any], reason: str,
               effective: str | None = None) -> Call[RegistryRecord]:
    body = {"record": record, "reason": reason, **({"effective": effective} if effective else {})}
    return Call("PUT", f"/v1/{_segment(resource)}/{_segment(key)}", _json(RegistryRecord.from_json), body)


def retire(resource: str, key: str, reason: str) -> Call[RegistryRecord]:
    return Call("POST", f"/v1/{_segment(resource)}/{_segment(key)}/retire", _json(RegistryRecord.from_json),
                {"reason": reason})


def issue_credential(scopes: list[str], reason: str, **fields: Any) -> Call[IssuedCredential]:
    return Call("POST", "/v1/credentials", _json(IssuedCredential.from_json), {"scopes": scopes, "reason": reason, **fields})


def revoke_credential(key: str, reason: str) -> Call[RegistryRecord]:
    return Call("POST", f"/v1/credentials/{_segment(key)}/revoke", _json(RegistryRecord.from_json), {"reason": reason})


def entity(key: str) -> Call[dict[str, Any]]:
    return Call("GET", f"/v1/entities/{_segment(key)}", _json(dict))


def person(key: str) -> Call[dict[str, Any]]:
    return Call("GET", f"/v1/people/{_segment(key)}", _json(dict))


def history(kind: str, key: str) -> Call[dict[str, Any]]:
    return Call("GET", f"/v1/history/{_segment(kind)}/{_segment(key)}", _json(dict))


def audit_records(limit: int = 100, **filters: Any) -> Call[AuditPage]:
    params = {"limit": limit, **{k: v for k, v in filters.items() if v is not None}}
    return Call("GET", "/v1/audit/records", _json(AuditPage.from_json), params=params)


def latest_head() -> Call[SignedHead]:
    return Call("GET", "/v1/audit/heads/latest", _json(SignedHead.from_json))


def inclusion_proof(seq: int, size: int | None = None) -> Call[InclusionProof]:
    params = {"seq": seq, **({"size": size} if size is not None else {})}
    return Call("GET", "/v1/audit/proofs/inclusion", _json(InclusionProof.from_json), params=params)


def consistency_proof(first: int, second: int | None = None) -> Call[dict[str, Any]]:
    params = {"first": first, **({"second": second} if second is not None else {})}
    return Call("GET", "/v1/audit/proofs/consistency", _json(dict), params=params)


def audit_keys() -> Call[dict[str, str]]:
    return Call("GET", "/v1/audit/keys", _json(dict))


def checkpoint() -> Call[str]:
    return Call("GET", "/v1/audit/checkpoint", _text)


def checkpoint_keys() -> Call[CheckpointKeys]:
    return Call("GET", "/v1/audit/checkpoint/keys", _json(CheckpointKeys.from_json))


def quarterly_report(entity_id: str, quarter: str) -> Call[dict[str, Any]]:
    return Call("GET", f"/v1/audit/reports/{_segment(entity_id)}/{_segment(quarter)}", _json(dict))


def criteria() -> Call[dict[str, Any]]:
    return Call("GET", "/v1/criteria", _json(dict))


def self_check(document: dict[str, Any]) -> Call[dict[str, Any]]:
    return Call("POST", "/v1/self-check", _json(dict), document)


def apply(document: dict[str, Any]) -> Call[dict[str, Any]]:
    return Call("POST", "/v1/applications", _json(dict), document)


def application(app_id: str) -> Call[dict[str, Any]]:
    return Call("GET", f"/v1/applications/{_segment(app_id)}", _json(dict))


def screen(name: str, countries: list[str] | None = None, kind: str | None = None, limit: int = 5) -> Call[ScreeningResult]:
    body = {"name": name, "countries": countries or [], "limit": limit, **({"kind": kind} if kind else {})}
    return Call("POST", "/v1/screening/screen", _json(ScreeningResult.from_json), body)


def findings(include_cleared: bool = False) -> Call[dict[str, Any]]:
    return Call("GET", "/v1/screening/findings", _json(dict), params={"all": "true"} if include_cleared else {})
