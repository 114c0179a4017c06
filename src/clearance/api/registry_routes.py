"""Registry resources: entities, people, licences, suspensions, restrictions, credentials, history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from ..core.instant import InstantError, parse_instant
from ..core.model import Entity
from ..registry.service import Credential, RegistryService, WriteRejected
from ..registry.view import record_out
from .auth import check_entity, reader, require, service
from .params import EARLIEST, INT64_MAX, INT64_MIN, LATEST
from .wire import CredentialRequest, RetireRequest, WriteRequest

router = APIRouter(prefix="/v1", tags=["registry"])
ADMIN = require("admin")
AUDITOR = require("auditor")

# URL segment -> record kind, for the resources that are plain dated records.
KINDS = {"entities": "entity", "people": "person", "licences": "authorization", "restrictions": "restriction"}


def _kind(resource: str) -> str:
    if resource not in KINDS:
        raise HTTPException(404, f"no resource `{resource}`")
    return KINDS[resource]


def _instant(text: str | None, field: str) -> int | None:
    if text is None:
        return None
    try:
        value = parse_instant(text)
    except InstantError as exc:
        raise WriteRejected(422, [f"{field}: {exc}"]) from None
    if not INT64_MIN <= value <= INT64_MAX:
        raise WriteRejected(422, [f"{field}: outside the instants the registry can hold ({EARLIEST} .. {LATEST})"])
    return int(value)


def _entity_of(svc: RegistryService, kind: str, key: str) -> str | None:
    """The entity a record belongs to, for entity-scoped readers."""
    if kind in ("entity", "restriction"):
        return key
    record = svc.state(valid_at=2**62).get((kind, key))
    return None if record is None or record.body is None else record.body.get("entity")


# Before the generic `/{resource}/{key}`, which would otherwise take (and 404) this path.
@router.put("/suspensions/{key}", status_code=201)
def suspend(key: str, change: WriteRequest, svc: RegistryService = Depends(service), who: Credential = Depends(ADMIN)) -> dict[str, Any]:
    return record_out(svc.suspend(key, change.record, who.key, change.reason))


@router.put("/{resource}/{key}", status_code=201)
def put_record(resource: str, key: str, change: WriteRequest, request: Request, svc: RegistryService = Depends(service), who: Credential = Depends(ADMIN)) -> dict[str, Any]:
    record = svc.put(_kind(resource), key, change.record, _instant(change.effective, "effective"), who.key, change.reason)
    return {**record_out(record), **_screened(request, record)}


def _screened(request: Request, record: Any) -> dict[str, Any]:
    """A registration is screened as it is written: say whether it was flagged, and why."""
    screening = getattr(request.app.state, "screening", None)
    if screening is None or record.kind not in ("entity", "person"):
        return {}
    subject = f"person:{record.key}" if record.kind == "person" else record.key
    return {"screening": screening.finding_since(subject, record.seq) or {"flagged": False, "subject": subject}}


@router.post("/{resource}/{key}/retire")
def retire_record(resource: str, key: str, change: RetireRequest, svc: RegistryService = Depends(service), who: Credential = Depends(ADMIN)) -> dict[str, Any]:
    return record_out(svc.retire(_kind(resource), key, _instant(change.effective, "effective"), who.key, change.reason))


@router.post("/credentials", status_code=201)
def create_credential(ask: CredentialRequest, svc: RegistryService = Depends(service), who: Credential = Depends(ADMIN)) -> dict[str, Any]:
    fields = ask.model_dump(exclude={"scopes", "reason"}, exclude_none=True)
    issued = svc.create_credential(ask.scopes, who.key, ask.reason, **fields)
    return {"key": issued.key, "token": issued.token, "scopes": issued.record.scopes, "note": "the token is shown once"}


@router.post("/credentials/{key}/revoke")
def revoke_credential(key: str, change: RetireRequest, svc: RegistryService = Depends(service), who: Credential = Depends(ADMIN)) -> dict[str, Any]:
    return record_out(svc.retire("credential", key, _instant(change.effective, "effective"), who.key, change.reason))


@router.get("/entities")
def list_entities(request: Request, who: Credential = Depends(reader)) -> list[dict[str, Any]]:
    policy = request.app.state.live.current()
    return [_entity_out(e) for e in policy.policy.entities if who.can_read_entity(e.id)]


@router.get("/entities/{key}")
def get_entity(key: str, request: Request, who: Credential = Depends(reader)) -> dict[str, Any]:
    check_entity(who, key)
    entity = request.app.state.live.current().entities.get(key)
    if entity is None:
        raise HTTPException(404, f"entity `{key}` does not exist")
    return _entity_out(entity)


@router.get("/people/{key}")
def get_person(key: str, svc: RegistryService = Depends(service), who: Credential = Depends(reader)) -> dict[str, Any]:
    person = svc.person(key)
    if person is None or not who.can_read_entity(person.entity):
        # An entity-scoped reader learns nothing about other entities' people, not even that they exist.
        raise HTTPException(404, f"person `{key}` does not exist")
    return {"id": key, **person.model_dump(exclude_none=True)}


@router.get("/history/{kind}/{key}")
def history(kind: str, key: str, svc: RegistryService = Depends(service), who: Credential = Depends(reader)) -> list[dict[str, Any]]:
    if not who.allows("auditor"):
        check_entity(who, _entity_of(svc, kind, key))
    return [record_out(r) for r in svc.history(kind, key)]


@router.get("/state")
def state(
    valid_at: str | None = None,
    known_at: str | None = None,
    kind: str | None = None,
    svc: RegistryService = Depends(service),
    who: Credential = Depends(AUDITOR),
) -> list[dict[str, Any]]:
    """What was in force at ``valid_at`` (default now), as recorded by ``known_at`` (default: all)."""
    found = svc.state(_instant(valid_at, "valid_at"), _instant(known_at, "known_at"), kind)
    return [record_out(r) for _, r in sorted(found.items())]


def _entity_out(e: Entity) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "country": e.country,
        "kind": e.kind,
        "designations": sorted(e.designations),
        "facts": dict(e.facts),
        "named_use_cases": sorted(e.named_use_cases),
        "restriction": None if e.restriction is None else {"status": e.restriction.status, "list": e.restriction.list},
    }
