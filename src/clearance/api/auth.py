"""Bearer credentials for the REST API: who is calling, and may they.

Missing or malformed credentials answer 401, a valid credential without the
needed scope 403. The token itself is never logged or echoed.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..registry.service import Credential, RegistryService
from .guard import credential_of

_bearer = HTTPBearer(auto_error=False)


def service(request: Request) -> RegistryService:
    return request.app.state.registry


def caller(
    request: Request, presented: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Credential:
    checked = credential_of(request.state)
    if checked is not None:
        return checked  # the front door (``guard.BodyGuard``) looked this request's token up already
    if presented is None or presented.scheme.lower() != "bearer":
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    found = service(request).authenticate(presented.credentials)
    if found is None:
        raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return found


def require(scope: str) -> Callable[..., Credential]:
    """A dependency admitting callers holding ``scope`` (``admin`` holds every scope)."""

    def check(who: Credential = Depends(caller)) -> Credential:
        if not who.allows(scope):
            raise HTTPException(403, f"this token lacks the `{scope}` scope")
        return who

    return check


def reader(who: Credential = Depends(caller)) -> Credential:
    """Any credential that may read something: admin, auditor or an entity-scoped token."""
    if not (who.allows("auditor") or any(s.startswith("entity:") for s in who.record.scopes)):
        raise HTTPException(403, "this token may not read the registry")
    return who


def check_entity(who: Credential, entity: str | None) -> None:
    if entity is None or not who.can_read_entity(entity):
        raise HTTPException(403, f"this token may not read entity `{entity}`")
